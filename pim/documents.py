"""What the portal's downloadable documents share: a CSV text from dict rows, and the PDF core
font's Latin-1 (billing's overview, the monthly SLA report)."""

import csv
import io


def csv_text(columns, rows) -> str:
    """`rows` (dicts keyed by `columns`) as CSV text with a header, CRLF line ends."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def latin(text) -> str:
    """The PDF's core font speaks Latin-1: dashes and quotes as their plain forms, the euro as
    EUR, any other character outside it as '?'."""
    text = str(text).replace("–", "-").replace("—", "-").replace("’", "'").replace("€", "EUR")
    return text.encode("latin-1", "replace").decode("latin-1")
