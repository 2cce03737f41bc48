"""Downloads of the billing overview (issue 18 item 4): the overview of one organisation and
month as CSV and PDF, and the month's export for the accounting package.

The accounting CSV (provider managers) has one row per organisation × line, comma separated,
UTF-8, a decimal point, ISO dates. Its columns:

| column | meaning |
|---|---|
| month | the first day of the month, YYYY-MM-DD |
| status | final (the month is closed) or provisional |
| organization_id, organization | the customer |
| line | time: a category's time of the month; correction: a reclassification of time of a |
|  | closed month; bundle_draw: billable time written off an hour bundle (for reading: its |
|  | amount is in bundle_written_off); bundle_written_off: the month's drawn minutes taken |
|  | out of the billed time (negative); bundle_balance: the bundles' balance at the month's |
|  | end (minutes); quote: a quote accepted in the month |
| category | the time category (for a correction the new one); empty for a quote |
| reference | a correction's or quote's ticket number |
| worked_on | a correction: the day the time was worked (YYYY-MM-DD) |
| minutes | time: the minutes; correction: the change in billable minutes (negative: credit) |
| hours | minutes ÷ 60, two decimals (for reading) |
| billable | true or false |
| hourly_rate | EUR per hour, excluding VAT (empty when not billed by the hour) |
| amount_excl_vat | EUR, two decimals (see billing/overview.py for the rounding) |
| vat_rate | percent |

VAT is computed on the organisation's subtotal in the overview, not per row."""

from django.utils.translation import gettext as _
from fpdf import FPDF

from pim.documents import csv_text, latin

from .overview import hours

ACCOUNTING_COLUMNS = [
    "month",
    "status",
    "organization_id",
    "organization",
    "line",
    "category",
    "reference",
    "worked_on",
    "minutes",
    "hours",
    "billable",
    "hourly_rate",
    "amount_excl_vat",
    "vat_rate",
]


def _money(value):
    return "" if value is None else f"{value:.2f}"


def accounting_rows(overviews):
    for ov in overviews:
        common = {
            "month": ov.month.isoformat(),
            "status": ov.status,
            "organization_id": ov.organization_id,
            "organization": ov.organization_name,
            "vat_rate": _money(ov.vat_rate),
        }
        for line in ov.lines:
            yield {
                **common,
                "line": "time",
                "category": line.category,
                "reference": "",
                "worked_on": "",
                "minutes": line.minutes,
                "hours": _money(line.hours),
                "billable": "true" if line.billable else "false",
                "hourly_rate": _money(line.hourly_rate),
                "amount_excl_vat": _money(line.amount),
            }
        for c in ov.corrections:
            yield {
                **common,
                "line": "correction",
                "category": c.to_category,
                "reference": c.ticket_number,
                "worked_on": c.worked_on.isoformat(),
                "minutes": c.billable_minutes,
                "hours": _money(hours(c.billable_minutes)),
                "billable": "true" if c.billable_minutes else "false",
                "hourly_rate": _money(c.hourly_rate),
                "amount_excl_vat": _money(c.amount),
            }
        if ov.bundles:
            for d in ov.bundles.draws:
                yield {
                    **common,
                    "line": "bundle_draw",
                    "category": "",
                    "reference": d.ticket.number,
                    "worked_on": d.worked_on.isoformat(),
                    "minutes": d.minutes,
                    "hours": _money(hours(d.minutes)),
                    "billable": "false",
                    "hourly_rate": "",
                    "amount_excl_vat": "",
                }
            yield {
                **common,
                "line": "bundle_written_off",
                "category": "",
                "reference": "",
                "worked_on": "",
                "minutes": -ov.bundles.drawn_minutes,
                "hours": _money(-hours(ov.bundles.drawn_minutes)),
                "billable": "false",
                "hourly_rate": _money(ov.hourly_rate),
                "amount_excl_vat": _money(-ov.bundle_amount),
            }
            yield {
                **common,
                "line": "bundle_balance",
                "category": "",
                "reference": "",
                "worked_on": "",
                "minutes": ov.bundles.balance_minutes,
                "hours": _money(hours(ov.bundles.balance_minutes)),
                "billable": "false",
                "hourly_rate": "",
                "amount_excl_vat": "",
            }
        for q in ov.quotes:
            yield {
                **common,
                "line": "quote",
                "category": "",
                "reference": q.ticket_number,
                "worked_on": "",
                "minutes": "",
                "hours": "",
                "billable": "false" if q.free else "true",
                "hourly_rate": "",
                "amount_excl_vat": _money(q.amount if q.amount is not None else 0),
            }


def accounting_csv(overviews) -> str:
    return csv_text(ACCOUNTING_COLUMNS, accounting_rows(overviews))


def overview_csv(ov) -> str:
    """The overview as the customer reads it: its lines, then the totals (same columns as the
    accounting export, the totals in `line`: subtotal, vat, total)."""
    common = {
        "month": ov.month.isoformat(),
        "status": ov.status,
        "organization_id": ov.organization_id,
        "organization": ov.organization_name,
        "vat_rate": _money(ov.vat_rate),
    }
    totals = [
        {**common, "line": "subtotal", "amount_excl_vat": _money(ov.subtotal)},
        {**common, "line": "vat", "amount_excl_vat": _money(ov.vat_amount)},
        {**common, "line": "total", "amount_excl_vat": _money(ov.total)},
    ]
    return csv_text(ACCOUNTING_COLUMNS, [*accounting_rows([ov]), *totals])


def overview_pdf(ov, month_label: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # small documents; the text stays searchable as written
    pdf.set_title(latin(_("Billing overview")))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, latin(_("Billing overview")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    status = _("final") if ov.closed else _("provisional")
    pdf.cell(
        0,
        7,
        latin(f"{ov.organization_name} - {month_label} ({status})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)

    def row(cells, bold=False):
        pdf.set_font("Helvetica", "B" if bold else "", 9)
        widths = (80, 22, 22, 28, 28)
        for width, (text, align) in zip(widths, cells, strict=True):
            pdf.cell(width, 6, latin(text), border="B", align=align)
        pdf.ln()

    row(
        [
            (_("Category"), "L"),
            (_("Minutes"), "R"),
            (_("Hours"), "R"),
            (_("Rate (EUR)"), "R"),
            (_("Amount (EUR)"), "R"),
        ],
        bold=True,
    )
    for line in ov.lines:
        row(
            [
                (line.label if line.billable else f"{line.label}", "L"),
                (str(line.minutes), "R"),
                (_money(line.hours), "R"),
                (_money(line.hourly_rate), "R"),
                (_money(line.amount), "R"),
            ]
        )
    if ov.corrections:
        pdf.ln(2)
        row([(_("Corrections"), "L"), ("", "R"), ("", "R"), ("", "R"), ("", "R")], bold=True)
        for c in ov.corrections:
            row(
                [
                    (
                        f"{c.ticket_number} {c.worked_on:%Y-%m-%d}: {c.from_label} > {c.to_label}",
                        "L",
                    ),
                    (f"{c.billable_minutes:+d}", "R"),
                    (_money(hours(c.billable_minutes)), "R"),
                    (_money(c.hourly_rate), "R"),
                    (_money(c.amount), "R"),
                ]
            )
    if written_off := ov.written_off:
        pdf.ln(2)
        row(
            [
                (_("Written off hour bundles"), "L"),
                (str(-ov.bundles.drawn_minutes), "R"),
                (_money(written_off["hours"]), "R"),
                (_money(ov.hourly_rate), "R"),
                (_money(written_off["amount"]), "R"),
            ]
        )
    pdf.ln(2)
    vat = _("VAT %(rate)s %%") % {"rate": _money(ov.vat_rate)}
    for label, value, bold in (
        (_("Subtotal excluding VAT"), ov.subtotal, False),
        (vat, ov.vat_amount, False),
        (_("Total including VAT"), ov.total, True),
    ):
        row([(label, "L"), ("", "R"), ("", "R"), ("", "R"), (_money(value), "R")], bold=bold)
    if ov.bundles:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, latin(_("Hour bundles")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        for d in ov.bundles.draws:
            pdf.cell(0, 6, latin(f"{d.worked_on:%Y-%m-%d} {d.ticket.number}: {d.minutes} min"),
                     new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        balance = _("Balance at the end of the month: %(hours)s hours") % {
            "hours": ov.bundles.balance_text
        }
        pdf.cell(0, 6, latin(balance), new_x="LMARGIN", new_y="NEXT")
    if ov.quotes:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, latin(_("Quotes accepted this month")), new_x="LMARGIN", new_y="NEXT")
        for q in ov.quotes:
            price = _("free of charge") if q.free else f"EUR {_money(q.amount)}"
            pdf.set_font("Helvetica", "", 9)
            pdf.cell(0, 6, latin(f"{q.ticket_number} v{q.version} {q.title}: {price}"),
                     new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    return bytes(pdf.output())
