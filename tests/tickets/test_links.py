"""Links between tickets (issue 16 item 6): related, caused by, duplicate of, parent/child; shown
on both tickets' pages and in the API; staff only; a customer never sees a link to a ticket of
another organisation."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from tickets import links
from tickets.models import AuditEntry, Status, TicketLink, TicketUpdate, TicketWatcher

pytestmark = pytest.mark.django_db


def api_links(api, user, ticket):
    response = api(user).get(f"/api/v1/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.json()["links"]


def test_a_link_reads_from_both_sides_and_is_audited_on_both(make_ticket, users, api):
    cause = make_ticket("acme.user", title="Switch broken")
    effect = make_ticket("acme.user", title="Phones down")
    link, created = links.add_link(effect, users["agent"], cause, "caused_by")
    assert created
    assert (link.source, link.target, link.kind) == (effect, cause, "caused_by")
    assert api_links(api, users["agent"], effect) == [
        {"id": link.pk, "kind": "caused_by", "ticket": cause.pk, "number": cause.number}
    ]
    assert api_links(api, users["agent"], cause) == [
        {"id": link.pk, "kind": "causes", "ticket": effect.pk, "number": effect.number}
    ]
    for ticket, kind in ((effect, "caused_by"), (cause, "causes")):
        entry = AuditEntry.objects.get(ticket=ticket, action="link_added")
        assert entry.actor == users["agent"]
        assert entry.changes["link_kind"] == [None, kind]
    # an inverse kind is stored the other way round; the same link again is no new row
    again, created = links.add_link(cause, users["agent"], effect, "causes")
    assert (again, created) == (link, False)
    child, _ = links.add_link(effect, users["agent"], cause, "child_of")
    assert (child.source, child.target, child.kind) == (cause, effect, "parent_of")


@translation.override("en")
def test_no_self_link_no_cycle_one_parent(make_ticket, users):
    a, b, c = (make_ticket("acme.user", title=t) for t in "abc")
    agent = users["agent"]
    with pytest.raises(ValidationError):
        links.add_link(a, agent, a, "related")
    links.add_link(a, agent, b, "parent_of")
    links.add_link(b, agent, c, "parent_of")
    with pytest.raises(ValidationError, match="circle"):
        links.add_link(c, agent, a, "parent_of")
    with pytest.raises(ValidationError, match="parent"):
        links.add_link(c, agent, a, "child_of")  # c has b as parent already
    # related is one row per pair, whichever side adds it
    first, _ = links.add_link(a, agent, c, "related")
    second, created = links.add_link(c, agent, a, "related")
    assert (second, created) == (first, False)


def test_customers_may_not_link(make_ticket, users, api):
    a = make_ticket("acme.contact")
    b = make_ticket("acme.contact")
    with pytest.raises(PermissionDenied):
        links.add_link(a, users["acme.contact"], b, "related")
    response = api(users["acme.contact"]).post(
        f"/api/v1/tickets/{a.pk}/links/", {"kind": "related", "ticket": b.pk}, format="json"
    )
    assert response.status_code == 403
    assert not TicketLink.objects.exists()


def test_duplicate_is_closed_with_a_pointer_and_its_reporter_follows_the_original(
    make_ticket, users, api
):
    original = make_ticket("acme.user", title="Phones down in Utrecht")
    duplicate = make_ticket("acme.user2", title="Cannot call out")
    response = api(users["agent"]).post(
        f"/api/v1/tickets/{duplicate.pk}/links/",
        {"kind": "duplicate_of", "ticket": original.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "duplicate_of"
    duplicate.refresh_from_db()
    assert duplicate.status == Status.CLOSED
    pointer = TicketUpdate.objects.filter(ticket=duplicate, visibility="public").last()
    assert original.number in pointer.body
    assert TicketWatcher.objects.filter(ticket=original, user=users["acme.user2"]).exists()
    # the reporter of the duplicate now sees the original, with the link from its side
    assert api_links(api, users["acme.user2"], original)[0]["kind"] == "duplicated_by"
    # one original per duplicate; a duplicate belongs to the original's organisation
    other = make_ticket("acme.user")
    with pytest.raises(ValidationError):
        links.add_link(duplicate, users["agent"], other, "duplicate_of")
    foreign = make_ticket("globex.user")
    with pytest.raises(ValidationError):
        links.add_link(make_ticket("acme.user"), users["agent"], foreign, "duplicate_of")


def test_a_link_to_another_organisation_is_invisible_to_customers(make_ticket, users, api, client):
    acme = make_ticket("acme.user", title="Acme phones")
    globex = make_ticket("globex.user", title="Globex secret title qx9")
    links.add_link(acme, users["agent"], globex, "related")
    assert len(api_links(api, users["agent"], acme)) == 1
    for who in ("acme.user", "acme.contact"):
        assert api_links(api, users[who], acme) == []
        client.force_login(users[who])
        page = client.get(reverse("ticket-detail", kwargs={"number": acme.number}))
        body = page.content.decode()
        assert page.status_code == 200
        assert globex.number not in body and "qx9" not in body
    listed = api(users["acme.contact"]).get("/api/v1/tickets/").json()["results"]
    assert all(row["links"] == [] for row in listed)
    # staff see it on both pages
    client.force_login(users["agent"])
    page = client.get(reverse("ticket-detail", kwargs={"number": globex.number})).content.decode()
    assert acme.number in page


def test_a_customer_sees_a_link_only_to_a_ticket_they_see_too(make_ticket, users, api):
    """One ticket's links are read apart from a page's (tickets.links.links_of): a customer
    user sees their own tickets, so not the link to a colleague's; the authorised contact sees
    both tickets and the link; the colleague sees neither the link nor the ticket."""
    mine = make_ticket("acme.user", title="Mine")
    colleague = make_ticket("acme.user2", title="Colleague's")
    links.add_link(mine, users["agent"], colleague, "related")
    links.add_link(make_ticket("acme.user"), users["agent"], mine, "caused_by")
    assert [row["ticket"] for row in api_links(api, users["acme.user"], mine)] == [
        TicketLink.objects.get(kind="caused_by").source_id
    ]
    assert len(api_links(api, users["acme.contact"], mine)) == 2
    assert len(api_links(api, users["acme.contact"], colleague)) == 1
    assert api_links(api, users["acme.user2"], colleague) == []
    assert api(users["acme.user2"]).get(f"/api/v1/tickets/{mine.pk}/").status_code == 404


def test_one_ticket_reads_its_links_in_one_query_without_a_page_s_prefetches(
    make_ticket, users, api
):
    """A GET of one ticket reads its links once (both directions), its clocks once, and not
    the change path of an incident; a page's prefetches read links twice and every part."""
    ticket = make_ticket("acme.user")
    links.add_link(make_ticket("acme.user"), users["agent"], ticket, "related")
    for who in ("agent", "acme.user"):
        with CaptureQueriesContext(connection) as ctx:
            response = api(users[who]).get(f"/api/v1/tickets/{ticket.pk}/")
        assert response.status_code == 200 and len(response.json()["links"]) == 1
        sql = [q["sql"] for q in ctx.captured_queries]
        assert len([q for q in sql if q.startswith('SELECT "tickets_ticketlink"')]) == 1, sql
        assert len([q for q in sql if 'FROM "sla_clock"' in q]) == 1, sql
        assert not [q for q in sql if "changes_changerequest" in q], sql


def test_delete_through_the_api(make_ticket, users, api):
    a, b = make_ticket("acme.user"), make_ticket("acme.user")
    link, _ = links.add_link(a, users["agent"], b, "related")
    url = f"/api/v1/tickets/{b.pk}/links/{link.pk}/"
    assert api(users["acme.contact"]).delete(url).status_code == 403
    assert api(users["globex.contact"]).delete(url).status_code == 404
    assert api(users["agent"]).delete(f"/api/v1/tickets/{b.pk}/links/99999/").status_code == 404
    assert api(users["agent"]).delete(url).status_code == 204
    assert not TicketLink.objects.exists()
    assert AuditEntry.objects.filter(action="link_removed").count() == 2


def test_bad_input_is_a_400(make_ticket, users, api):
    a = make_ticket("acme.user")
    url = f"/api/v1/tickets/{a.pk}/links/"
    agent = api(users["agent"])
    assert agent.post(url, {"kind": "sibling", "ticket": a.pk}, format="json").status_code == 400
    assert agent.post(url, {"kind": "related", "ticket": 0}, format="json").status_code == 400
    assert agent.post(url, {"kind": "related", "ticket": 10**9}, format="json").status_code == 400
    assert agent.post(url, {"kind": "related", "ticket": a.pk}, format="json").status_code == 400


def test_the_list_reads_links_in_constant_queries(make_ticket, users, api):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = api(users["agent"]).get("/api/v1/tickets/?page_size=100")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    first = make_ticket("acme.user")
    links.add_link(make_ticket("acme.user"), users["agent"], first, "related")
    small = count()
    for _ in range(8):
        links.add_link(make_ticket("acme.user"), users["agent"], first, "caused_by")
    assert count() == small


def test_the_page_links_and_unlinks_by_number(make_ticket, users, client):
    a, b = make_ticket("acme.user"), make_ticket("acme.user")
    client.force_login(users["agent"])
    url = reverse("ticket-link-add", kwargs={"number": a.number})
    response = client.post(url, {"kind": "parent_of", "number": b.number.lower()})
    assert response.status_code == 302
    link = TicketLink.objects.get()
    assert (link.source, link.target, link.kind) == (a, b, "parent_of")
    page = client.get(reverse("ticket-detail", kwargs={"number": b.number})).content.decode()
    assert 'id="ticket-links"' in page and a.number in page
    assert client.post(url, {"kind": "related", "number": "INC-1999-99999"}).status_code == 400
    remove = reverse("ticket-link-remove", kwargs={"number": b.number})
    assert client.post(remove, {"link": str(link.pk)}).status_code == 302
    assert not TicketLink.objects.exists()
    client.force_login(users["acme.user"])
    links.add_link(a, users["agent"], b, "related")
    response = client.post(url, {"kind": "related", "number": b.number})
    assert response.status_code == 302  # refused with a message on the ticket page
    assert TicketLink.objects.count() == 1
    page = client.get(reverse("ticket-detail", kwargs={"number": a.number})).content.decode()
    assert b.number in page and "ticket-link-add" not in page and 'name="link"' not in page
