"""What changes adds to the ticket API (registered in ChangesConfig.ready())."""

from tickets import extensions

from .api import TicketChangeField, with_change_rows

API_PART = extensions.ApiPart(name="change", field=TicketChangeField, rows=with_change_rows)


def register():
    extensions.register_api_part(API_PART)
