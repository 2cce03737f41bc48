"""The read replica (pim/routers.py): reads of reports and exports go to the `replica` alias when
DATABASE_REPLICA_URL configures one; everything else to the primary. In the tests the alias is
a second connection to the test database (TEST MIRROR), so the data is the same and the
queries of each connection can be told apart."""

import csv
import io

import pytest
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext

from pim.models import Organization
from pim.routers import replica_reads
from privacy.export import export_person
from privacy.models import PrivacyEvent
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica(settings):
    settings.DATABASE_REPLICA = True


def queries_on(alias):
    return CaptureQueriesContext(connections[alias])


def touched(context, table):
    return [q["sql"] for q in context.captured_queries if f'"{table}' in q["sql"]]


def test_replica_reads_route_reads_there_and_nothing_else(replica, acme):
    assert Organization.objects.all().db == "default"
    with replica_reads():
        assert Organization.objects.all().db == "replica"
        with queries_on("replica") as on_replica:
            assert Organization.objects.get(pk=acme.pk).name == "Acme Zorg"  # same data
        assert touched(on_replica, "pim_organization")
        assert router.db_for_write(Organization) == "default"
        with queries_on("default") as on_primary, queries_on("replica") as on_replica:
            Organization.objects.filter(pk=acme.pk).update(name="Acme Zorg BV")
        assert touched(on_primary, "pim_organization") and not on_replica.captured_queries
        # inside a transaction on the primary, reads must see its writes: they stay there
        with transaction.atomic():
            assert Organization.objects.all().db == "default"
    assert Organization.objects.all().db == "default"


def test_replica_reads_work_as_a_decorator(replica):
    @replica_reads()
    def report():
        return Ticket.objects.all().db

    assert report() == "replica"
    assert Ticket.objects.all().db == "default"


def test_without_a_replica_everything_stays_on_the_primary(settings):
    settings.DATABASE_REPLICA = False
    with replica_reads():
        assert Organization.objects.all().db == "default"


def test_the_compliance_api_and_page_read_from_the_replica(replica, users, api, client):
    with queries_on("default") as on_primary, queries_on("replica") as on_replica:
        response = api(users["director"]).get("/api/v1/sla/compliance/")
    assert response.status_code == 200
    assert touched(on_replica, "sla_") and not touched(on_primary, "sla_")

    client.force_login(users["director"])
    with queries_on("default") as on_primary, queries_on("replica") as on_replica:
        page = client.get("/sla/")
    assert page.status_code == 200
    assert touched(on_replica, "sla_") and not touched(on_primary, "sla_")


def test_the_personal_data_export_reads_from_the_replica_and_logs_on_the_primary(
    replica, users, make_ticket
):
    ticket = make_ticket("acme.user")
    with queries_on("default") as on_primary, queries_on("replica") as on_replica:
        data = export_person(users["acme.user"], via="command")
    assert [t["number"] for t in data["reported_tickets"]] == [ticket.number]
    assert touched(on_replica, "tickets_ticket") and not touched(on_primary, "tickets_ticket")
    assert touched(on_primary, "privacy_privacyevent")
    assert PrivacyEvent.objects.filter(subject=users["acme.user"]).count() == 1


def test_a_ticket_list_export_reads_its_rows_from_the_replica(replica, client, users):
    """tickets/exports.py: the rows of an export are read on the replica."""
    services.create_ticket(actor=users["acme.user"], title="Replica row", description="d")
    client.force_login(users["acme.contact"])
    with (
        queries_on("default") as primary,
        queries_on("replica") as replica_queries,
    ):
        response = client.get("/tickets/export/?format=csv")
        body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert [r[1] for r in rows[1:]] == ["Replica row"]
    assert any('FROM "tickets_ticket"' in q["sql"] for q in replica_queries.captured_queries)
    assert not any(
        'FROM "tickets_ticket"' in q["sql"] and "LIMIT" not in q["sql"]
        for q in primary.captured_queries
    )  # on the primary only the bounded count that chooses the direct download
