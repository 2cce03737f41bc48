"""`manage.py seed_demo`: the DESIGN §5 organisations and users, three months of tickets,
idempotent."""

import pytest
from django.core.management import call_command

from escalation.models import Notification
from pim.models import Organization, User
from sla.models import Contract
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_seed_demo_is_complete_and_idempotent(settings):
    call_command("seed_demo", tickets=6, verbosity=0)
    assert set(Organization.objects.values_list("name", flat=True)) == {
        "Acme Zorg",
        "Globex Logistics",
    }
    logins = {"acme.user", "acme.contact", "globex.user", "globex.contact", "agent", "oncall",
              "csm", "opsmanager", "director", "admin"}  # fmt: skip
    assert logins <= set(User.objects.values_list("username", flat=True))
    assert User.objects.get(username="acme.contact").role == "authorised_contact"
    assert Contract.objects.get(organization__slug="globex").service_window == "24x7"
    tickets = Ticket.objects.count()
    assert tickets == 12
    oldest = Ticket.objects.order_by("reported_at").first()
    assert (Ticket.objects.latest("reported_at").reported_at - oldest.reported_at).days > 7
    assert not Notification.objects.filter(status="pending").exists()  # history is not re-sent
    call_command("seed_demo", tickets=6, verbosity=0)
    assert Ticket.objects.count() == tickets
