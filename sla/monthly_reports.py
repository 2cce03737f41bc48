"""The monthly SLA report's files and their keeping (issue 17 item 3).

`generate(organization, month)` renders `sla.monthly.month_figures` as a PDF (fpdf2, core font,
as the billing overview) and a CSV with the same figures, in the language of the organisation's
authorised contacts (the most common one among them; Dutch without contacts), and keeps them in
a `MonthlyReport` row (one per organisation and month; generating again replaces the files).

`run(now)` is the Celery task's work: on the provider's first working day of a month (and on
later days of that month, catching up what a stopped beat missed) every active organisation
gets its report of the month before, mailed once to its authorised contacts and the provider's
managers. Once: the report row is locked while it is generated and mailed, `mailed_at` marks
it, and the outbox's dedup key (organisation, month, person, channel) holds even if two runs
race. The mail carries the PDF (attached at delivery, escalation's `sla_report` renderer) and a
link to the portal's list.

The CSV (UTF-8, comma separated, ISO dates and times in Europe/Amsterdam, a decimal point) has
one row per figure, its kind in `section`:

- `compliance`, a priority × target: priority, target, count, met, breached, open,
  share_within_target (percent);
- `restore_average`, a priority: priority, count, average_minutes, goal_minutes, target_met;
- `breach`, a breached clock: reference (the ticket), priority, target, start (the due time),
  used_minutes, goal_minutes, detail (the reason; the ledger's notes);
- `excluded`, an "SLA not applicable" ticket: reference, priority, detail (the reason);
- `availability`, a service: reference (its name), target (its kind), scheduled_seconds,
  downtime_seconds, availability, goal (the yearly target), year_to_date, target_met (ratios
  0–1);
- `maintenance`, a notice: reference (its title), target (its kind), start, end, detail (status);
- `problem`, an open problem: reference (its number), priority, count (days open), detail (the
  organisation's incidents; the known errors published to it);
- `escalation`, an escalation the organisation raised: reference (the ticket), target (the
  level), start (raised), end (acknowledged), detail (the reason).

Every row also carries `organization` and `month` (YYYY-MM).
"""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled
from fpdf import FPDF

from pim.documents import csv_text, latin
from pim.models import Organization, Role, User
from pim.months import month_of, next_month

from . import monthly
from .models import Contract, MonthlyReport
from .services import REPORT_ZONE
from .signals import monthly_report_ready

CSV_COLUMNS = [
    "organization",
    "month",
    "section",
    "reference",
    "priority",
    "target",
    "count",
    "met",
    "breached",
    "open",
    "share_within_target",
    "average_minutes",
    "goal_minutes",
    "used_minutes",
    "scheduled_seconds",
    "downtime_seconds",
    "availability",
    "goal",
    "year_to_date",
    "target_met",
    "start",
    "end",
    "detail",
]


class MonthNotOver(Exception):
    """A report is made of a month that has ended."""


# --- language ----------------------------------------------------------------------------------


def language_for(organization) -> str:
    """The language of the organisation's active authorised contacts (the most common one;
    the first in LANGUAGES on a tie), else the portal's default (Dutch)."""
    languages = Counter(
        User.objects.filter(
            is_active=True,
            membership__role=Role.AUTHORISED_CONTACT,
            membership__organization=organization,
        ).values_list("language", flat=True)
    )
    known = [code for code, _name in settings.LANGUAGES]
    found = [code for code in known if languages.get(code)]
    if not found:
        return settings.LANGUAGE_CODE
    return max(found, key=lambda code: (languages[code], -known.index(code)))


# --- the CSV -----------------------------------------------------------------------------------


def _local(value):
    return timezone.localtime(value, REPORT_ZONE).strftime("%Y-%m-%d %H:%M") if value else ""


def _ratio(value):
    return f"{value:.6f}"


def _bool(value):
    return "" if value is None else ("true" if value else "false")


def csv_rows(figures):
    common = {"organization": figures.organization_name, "month": f"{figures.month:%Y-%m}"}
    for r in figures.compliance:
        yield {
            **common,
            "section": "compliance",
            "priority": r["priority"],
            "target": r["target"],
            "count": r["count"],
            "met": r["met"],
            "breached": r["breached"],
            "open": r["open"],
            "share_within_target": ""
            if r["share_within_target"] is None
            else r["share_within_target"],
        }
    for r in figures.restore:
        yield {
            **common,
            "section": "restore_average",
            "priority": r.priority,
            "target": "restore",
            "count": r.count,
            "average_minutes": "" if r.average_minutes is None else r.average_minutes,
            "goal_minutes": "" if r.goal_minutes is None else r.goal_minutes,
            "target_met": _bool(r.met),
        }
    for b in figures.breaches:
        yield {
            **common,
            "section": "breach",
            "reference": b.number,
            "priority": b.priority,
            "target": b.target,
            "start": _local(b.due_at),
            "used_minutes": b.used_seconds // 60,
            "goal_minutes": b.target_seconds // 60,
            "detail": "; ".join([b.reason, *b.notes]),
        }
    for e in figures.excluded:
        yield {
            **common,
            "section": "excluded",
            "reference": e.number,
            "priority": e.priority,
            "detail": e.reason,
        }
    for a in figures.availability:
        yield {
            **common,
            "section": "availability",
            "reference": a.name,
            "target": a.kind,
            "scheduled_seconds": int(a.scheduled.total_seconds()),
            "downtime_seconds": int(a.downtime.total_seconds()),
            "availability": _ratio(a.availability),
            "goal": _ratio(a.target),
            "year_to_date": _ratio(a.year_to_date),
            "target_met": _bool(a.met),
        }
    for m in figures.maintenance:
        yield {
            **common,
            "section": "maintenance",
            "reference": m.title,
            "target": m.kind_label,
            "start": _local(m.starts_at),
            "end": _local(m.ends_at),
            "detail": m.status_label,
        }
    for p in figures.problems:
        yield {
            **common,
            "section": "problem",
            "reference": p.number,
            "priority": p.priority,
            "count": p.age_days,
            "detail": "; ".join([" ".join(p.incidents), *p.known_errors]),
        }
    for e in figures.escalations:
        yield {
            **common,
            "section": "escalation",
            "reference": e.number,
            "target": e.level_label,
            "start": _local(e.raised_at),
            "end": _local(e.acknowledged_at),
            "detail": e.reason,
        }


def render_csv(figures) -> str:
    return csv_text(CSV_COLUMNS, csv_rows(figures))


# --- the PDF -----------------------------------------------------------------------------------


def percent(value) -> str:
    return "" if value is None else f"{value:.1f} %"


def ratio_percent(value) -> str:
    return f"{100 * value:.3f} %"


def month_label(month) -> str:
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


class _Pdf:
    def __init__(self, title):
        self.pdf = FPDF(format="A4")
        self.pdf.set_compression(False)  # small documents; the text stays searchable
        self.pdf.set_title(latin(title))
        self.pdf.set_auto_page_break(True, margin=15)
        self.pdf.add_page()

    def heading(self, text, size=11):
        self.pdf.ln(3)
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.cell(0, 8, latin(text), new_x="LMARGIN", new_y="NEXT")

    def line(self, text, size=9):
        self.pdf.set_font("Helvetica", "", size)
        self.pdf.multi_cell(0, 5, latin(text), new_x="LMARGIN", new_y="NEXT")

    def row(self, cells, widths, bold=False):
        self.pdf.set_font("Helvetica", "B" if bold else "", 8)
        for width, text in zip(widths, cells, strict=True):
            self.pdf.cell(width, 6, latin(text)[:60], border="B")
        self.pdf.ln()

    def table(self, header, rows, widths):
        self.row(header, widths, bold=True)
        for cells in rows:
            self.row(cells, widths)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def render_pdf(figures) -> bytes:
    title = _("Monthly SLA report")
    doc = _Pdf(title)
    doc.heading(title, size=16)
    doc.line(f"{figures.organization_name} - {month_label(figures.month)}", size=11)
    doc.line(
        _("Generated on %(at)s (Europe/Amsterdam).") % {"at": _local(figures.at)},
    )

    doc.heading(_("Compliance per priority and target"))
    if figures.compliance:
        doc.table(
            [_("Priority"), _("Target"), _("Tickets"), _("Met"), _("Breached"), _("Open"),
             _("Within target")],
            [
                [f"P{r['priority']}", r["target_label"], r["count"], r["met"], r["breached"],
                 r["open"], percent(r["share_within_target"])]
                for r in figures.compliance
            ],
            (20, 40, 22, 22, 24, 22, 30),
        )  # fmt: skip
    else:
        doc.line(_("No tickets were registered in this month."))

    doc.heading(_("Average restore time against the average goal"))
    if figures.restore:
        doc.table(
            [_("Priority"), _("Incidents"), _("Average (min)"), _("Goal (min)"), _("Goal met")],
            [
                [f"P{r.priority}", r.count, _blank(r.average_minutes), _blank(r.goal_minutes),
                 _yes_no(r.met)]
                for r in figures.restore
            ],
            (25, 30, 40, 40, 45),
        )  # fmt: skip
    else:
        doc.line(_("No restore times in this month."))

    doc.heading(_("Breaches") + f" ({len(figures.breaches)})")
    if figures.breaches:
        for b in figures.breaches:
            doc.line(f"{b.number} P{b.priority} {b.title}")
            doc.line("    " + "; ".join([b.reason, *b.notes]))
    else:
        doc.line(_("No target was breached."))
    if figures.excluded:
        doc.heading(_("Left out of the figures: SLA not applicable"), size=10)
        for e in figures.excluded:
            doc.line(f"{e.number} P{e.priority} {e.title}: {e.reason}")

    doc.heading(_("Availability per service"))
    if figures.availability:
        doc.table(
            [_("Service"), _("Availability"), _("Year to date"), _("Yearly target"),
             _("Target met")],
            [
                [a.name, ratio_percent(a.availability), ratio_percent(a.year_to_date),
                 ratio_percent(a.target), _yes_no(a.met)]
                for a in figures.availability
            ],
            (60, 30, 30, 30, 30),
        )  # fmt: skip
    else:
        doc.line(_("No services."))

    doc.heading(_("Maintenance in this month"))
    if figures.maintenance:
        for m in figures.maintenance:
            doc.line(
                f"{_local(m.starts_at)} - {_local(m.ends_at)} {m.kind_label}: {m.title} "
                f"({m.status_label})"
            )
    else:
        doc.line(_("No maintenance."))

    doc.heading(_("Open problems"))
    if figures.problems:
        for p in figures.problems:
            text = _(
                "%(number)s (P%(priority)s), %(days)s days open; your incidents: %(incidents)s"
            ) % {
                "number": p.number,
                "priority": p.priority,
                "days": p.age_days,
                "incidents": ", ".join(p.incidents),
            }
            if p.known_errors:
                text += "; " + _("known errors: %(titles)s") % {"titles": ", ".join(p.known_errors)}
            doc.line(text)
    else:
        doc.line(_("No open problems affect your organisation."))

    doc.heading(_("Escalations"))
    if figures.escalations:
        for e in figures.escalations:
            acknowledged = (
                _("acknowledged %(at)s") % {"at": _local(e.acknowledged_at)}
                if e.acknowledged_at
                else _("not acknowledged")
            )
            doc.line(
                f"{_local(e.raised_at)} {e.number} ({e.level_label}), {acknowledged}: {e.reason}"
            )
    else:
        doc.line(_("No escalations."))
    return doc.output()


def _blank(value):
    return "" if value is None else value


def _yes_no(value):
    if value is None:
        return "-"
    return _("yes") if value else _("no")


# --- keeping and mailing -----------------------------------------------------------------------


def _files(figures):
    slug = f"sla-report-{figures.month:%Y-%m}"
    return (
        ContentFile(render_pdf(figures), name=f"{slug}.pdf"),
        ContentFile(render_csv(figures).encode("utf-8"), name=f"{slug}.csv"),
    )


def ended(month, now=None) -> bool:
    """Whether `month` (its first day) lies wholly before today (Europe/Amsterdam)."""
    today = timezone.localtime(now or timezone.now(), REPORT_ZONE).date()
    return month_of(month) < month_of(today)


def generate(organization, month, *, now=None, actor=None) -> MonthlyReport:
    """Render and keep the report of `organization` for an ended `month` (a month still running
    or to come raises MonthNotOver). Generating again replaces the files, in the language of
    the contacts then; a report mailed stays mailed."""
    now = now or timezone.now()
    month = month_of(month)
    if not ended(month, now):
        raise MonthNotOver(month)
    with scopes_disabled(), transaction.atomic():
        report = (
            MonthlyReport.objects.select_for_update()
            .filter(organization=organization, month=month)
            .first()
        )
        return _render_into(report, organization, month, now, actor)


def _render_into(report, organization, month, now, actor):
    language = language_for(organization)
    with translation.override(language):
        figures = monthly.month_figures(organization, month, now)
        pdf, csv_file = _files(figures)
    old = (report.pdf.name, report.csv.name) if report else ()
    if report is None:
        report = MonthlyReport(organization=organization, month=month)
    report.language = language
    report.generated_at = now
    report.generated_by = actor
    report.pdf.save(pdf.name, pdf, save=False)
    report.csv.save(csv_file.name, csv_file, save=False)
    report.save()
    storage = report.pdf.storage
    for name in old:
        transaction.on_commit(lambda name=name: storage.delete(name))
    return report


def mail(report, now=None) -> bool:
    """Tell the organisation's authorised contacts and the provider's managers of the report,
    once: True when it is mailed now. The caller holds the row lock."""
    if report.mailed_at is not None:
        return False
    now = now or timezone.now()
    monthly_report_ready.send(sender=MonthlyReport, report=report, now=now)
    report.mailed_at = now
    report.save(update_fields=["mailed_at"])
    return True


def organizations_for(month):
    """The organisations that get a report of `month`: the active ones with a contract (an SLA)
    valid on a day of it."""
    last = next_month(month) - timedelta(days=1)
    contracted = Contract.objects.filter(valid_from__lte=last).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=month)
    )
    return Organization.objects.filter(
        is_active=True, pk__in=contracted.values("organization_id")
    ).order_by("pk")


def run(now=None) -> list[MonthlyReport]:
    """The daily task's work: nothing before the provider's first working day of the month;
    from then on, every organisation's report of the month before made and mailed once.
    Returns the reports mailed by this run."""
    now = now or timezone.now()
    today = timezone.localtime(now, REPORT_ZONE).date()
    if today < monthly.first_working_day(today):
        return []
    month = monthly.previous_month(today)
    mailed = []
    with scopes_disabled():
        done = set(
            MonthlyReport.objects.filter(month=month, mailed_at__isnull=False).values_list(
                "organization_id", flat=True
            )
        )
        for organization in organizations_for(month):
            if organization.pk in done:
                continue
            report = _make_and_mail(organization, month, now)
            if report is not None:
                mailed.append(report)
    return mailed


def _make_and_mail(organization, month, now):
    try:
        with transaction.atomic():
            report = (
                MonthlyReport.objects.select_for_update()
                .filter(organization=organization, month=month)
                .first()
            )
            if report is not None and report.mailed_at is not None:
                return None  # another run was first
            if report is None:
                report = _render_into(None, organization, month, now, None)
            return report if mail(report, now) else None
    except IntegrityError:
        return None  # a concurrent run created it first; it mails it
