"""Canned responses: text modules an agent inserts into the composer, with placeholders filled
for the ticket at hand.

The placeholders are replaced by `string.Template.safe_substitute` with a pattern that knows
only `{name}`: no attribute access, no indexing, no format specs, and anything it does not know
(`{__class__}`, `{reporter_name.__class__}`, a lone brace) stays in the text as written.
"""

import re
from string import Template

from pim.templatetags.people import display_name

from .models import CannedResponse

PLACEHOLDERS = ("reporter_name", "ticket_number", "ticket_title", "agent_name")


class _BraceTemplate(Template):
    flags = re.NOFLAG
    # Template's groups: `escaped` and `invalid` never match, `named`/`braced` are `{name}`.
    pattern = r"(?P<escaped>(?!))|\{(?P<named>[a-z_]+)\}|(?P<braced>(?!))|(?P<invalid>(?!))"


def values_for(ticket, agent) -> dict:
    return {
        "reporter_name": display_name(ticket.reporter) if ticket.reporter_id else "",
        "ticket_number": ticket.number,
        "ticket_title": ticket.title,
        "agent_name": display_name(agent),
    }


def fill(body: str, values: dict) -> str:
    """`body` with the known placeholders replaced; everything else is left as it is."""
    known = {k: str(v) for k, v in values.items() if k in PLACEHOLDERS}
    return _BraceTemplate(body).safe_substitute(known)


def for_ticket(ticket, agent, language=None):
    """The active canned responses, filled for `ticket`, those in `language` (the reporter's)
    first: [{"id", "title", "language", "text"}]. One query."""
    values = values_for(ticket, agent)
    rows = [
        {"id": c.pk, "title": c.title, "language": c.language, "text": fill(c.body, values)}
        for c in CannedResponse.objects.filter(active=True)
    ]
    rows.sort(key=lambda r: (r["language"] != language, r["language"], r["title"].lower()))
    return rows
