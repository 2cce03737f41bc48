"""The dashboard's ratings per month and outages per service drill down to exactly the tickets
they count (TicketFilter's `rated`, and `outage` with `service`): on the queue, the contact's
ticket list and the API; /sla/availability/ links the same lists; invalid values are refused
with the reason; another organisation's rated and outage tickets never show."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from freezegun import freeze_time

from pim.models import Service
from sla import availability_queries, outages
from sla import services as sla_services
from sla.dashboard import figures
from tickets import queue_views, services
from tickets.models import SatisfactionRating, Status

from .test_dashboard import NOW, NUMBER, RESOLUTION, api_numbers, at, numbers_behind

pytestmark = pytest.mark.django_db

NOVEMBER, OCTOBER = date(2026, 11, 1), date(2026, 10, 1)
H = timedelta(hours=1)


def incident(users, reporter, when, service=None, restored_after=None):
    """An incident reported at `when` (of `service`), taken 5 minutes later and resolved
    `restored_after` after the report (if given)."""
    with freeze_time(when):
        ticket = services.create_ticket(
            actor=users[reporter], title="Down", description="d", service=service
        )
    with freeze_time(when + timedelta(minutes=5)):
        services.take(ticket, users["agent"])
    if restored_after is not None:
        with freeze_time(when + restored_after):
            services.transition(ticket, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    ticket.refresh_from_db()
    return ticket


def rate(ticket, users, score, when):
    return SatisfactionRating.objects.create(
        ticket=ticket, agent=users["agent"], rated_by=ticket.reporter, score=score, rated_at=when
    )


def mark(ticket, users, start=None, end=None):
    with freeze_time(NOW):
        return outages.mark_outage(ticket, users["agent"], start, end)


@pytest.fixture
def world(contracts, users, acme, globex):
    """Ratings and outages around November 2026 (Amsterdam), of Acme and Globex."""
    phone = acme.services.get()  # Telefonie
    dc = globex.services.get()  # Datacenter
    t = {
        "a": incident(users, "acme.user", at(2026, 11, 2, 9), phone, 2 * H),
        "b": incident(users, "acme.user", at(2026, 10, 20, 9), phone, 2 * H),
        "c": incident(users, "acme.user", at(2026, 10, 5, 9), None, 2 * H),
        "g": incident(users, "globex.user", at(2026, 11, 3, 9), dc, 2 * H),
        "unrated": incident(users, "acme.user", at(2026, 11, 4, 9), None, H),
    }
    # ratings: a in November; b at 00:30 on 1 November (Amsterdam; 31 October in UTC), c at
    # 23:30 on 31 October (Amsterdam), g (Globex) in November
    rate(t["a"], users, 5, at(2026, 11, 20, 10))
    rate(t["b"], users, 2, at(2026, 11, 1, 0, 30))
    rate(t["c"], users, 3, at(2026, 10, 31, 23, 30))
    rate(t["g"], users, 4, at(2026, 11, 10, 9))
    # outages of Telefonie: a (report → restore, 2 November); b (20 October only); `edge` from
    # 31 October 22:00 to 1 November 02:00 (reaches into November outside office hours: it
    # counts, without downtime); `open` not restored yet (counts until now); `na` marked but
    # the SLA does not apply; `plain` an incident of Telefonie that marks no outage
    mark(t["a"], users)
    mark(t["b"], users)
    t["edge"] = incident(users, "acme.user", at(2026, 10, 31, 21), phone, 6 * H)
    mark(t["edge"], users, at(2026, 10, 31, 22), at(2026, 11, 1, 2))
    t["open"] = incident(users, "acme.user", at(2026, 11, 29, 9), phone)
    mark(t["open"], users)
    t["na"] = incident(users, "acme.user", at(2026, 11, 12, 9), phone, H)
    mark(t["na"], users)
    sla_services.set_sla_not_applicable(t["na"], users["agent"], "Customer's own PBX")
    t["plain"] = incident(users, "acme.user", at(2026, 11, 13, 9), phone, H)
    # Acme's Internet: `net` in November (another service of the same organisation)
    line = Service.objects.create(organization=acme, name="Internet", code="internet")
    t["net"] = incident(users, "acme.user", at(2026, 11, 16, 9), line, 3 * H)
    mark(t["net"], users)
    # Globex's Datacenter: g in November
    mark(t["g"], users)
    t["phone"], t["dc"], t["line"] = phone, dc, line
    return t


def board_of(user, organization_id=None):
    with freeze_time(NOW):
        return figures(user, NOVEMBER, organization_id)


def numbers(world, *keys):
    return {world[k].number for k in keys}


def trend_row(board, month):
    return next(t for t in board.trend if t["month"] == month)


def service_row(rows, service):
    return next(r for r in rows if r.service_id == service.pk)


def test_ratings_per_month_drill_down_to_exactly_the_rated_tickets(world, users, client, api):
    director = users["director"]
    board = board_of(director)
    november, october = trend_row(board, NOVEMBER), trend_row(board, OCTOBER)
    assert (november["ratings"], october["ratings"]) == (3, 1)  # a, b (00:30), g; c (23:30)
    client.force_login(director)
    with freeze_time(NOW):
        assert november["ratings_url"].startswith(reverse("queue"))
        assert numbers_behind(client, november["ratings_url"]) == numbers(world, "a", "b", "g")
        assert numbers_behind(client, october["ratings_url"]) == numbers(world, "c")
        for t in board.trend:  # every month: as many tickets as ratings, the page and the API
            page = numbers_behind(client, t["ratings_url"])
            assert len(page) == t["ratings"], t["ratings_url"]
            assert api_numbers(api, director, t["ratings_url"]) == page
        # one organisation's dashboard: its ratings only, and its link says so
        acme_id = world["a"].organization_id
        only = trend_row(board_of(director, acme_id), NOVEMBER)
        assert only["ratings"] == 2 and f"organization={acme_id}" in only["ratings_url"]
        assert numbers_behind(client, only["ratings_url"]) == numbers(world, "a", "b")
        html = client.get(reverse("dashboard"), {"month": "2026-11"}).content.decode()
    assert f'href="{november["ratings_url"].replace("&", "&amp;")}"' in html


def test_outages_per_service_drill_down_to_exactly_the_counted_incidents(world, users, client, api):
    director = users["director"]
    board = board_of(director)
    phone, dc = (
        service_row(board.availability, world["phone"]),
        service_row(board.availability, world["dc"]),
    )
    assert (phone.outages, dc.outages) == (3, 1)  # a, edge, open; g
    assert service_row(board.availability, world["line"]).outages == 1  # net
    client.force_login(director)
    with freeze_time(NOW):
        assert phone.outages_url.startswith(reverse("queue"))
        assert numbers_behind(client, phone.outages_url) == numbers(world, "a", "edge", "open")
        assert numbers_behind(client, dc.outages_url) == numbers(world, "g")
        for row in board.availability:
            page = numbers_behind(client, row.outages_url)
            assert len(page) == row.outages, row.outages_url
            assert api_numbers(api, director, row.outages_url) == page
        # October: b and edge (which reaches into both months), nothing of November's
        october = availability_queries.figures(
            availability_queries.visible_services(director), OCTOBER
        )
        old = service_row(october, world["phone"])
        assert old.outages == 2
        linked = numbers_behind(client, f"{reverse('queue')}?status=all&outage=2026-10")
        assert linked == numbers(world, "b", "edge")
        # the month not begun yet counts nothing, and lists nothing
        assert numbers_behind(client, f"{reverse('queue')}?status=all&outage=2026-12") == set()
        html = client.get(reverse("dashboard"), {"month": "2026-11"}).content.decode()
    assert f'href="{phone.outages_url.replace("&", "&amp;")}"' in html


def test_availability_page_links_each_services_outages(world, users, client):
    client.force_login(users["director"])
    with freeze_time(NOW):
        page = client.get(reverse("sla-availability"), {"month": "2026-11"})
        assert page.status_code == 200
        html = page.content.decode()
        url = f"{reverse('queue')}?status=all&service={world['phone'].pk}&outage=2026-11"
        assert f'href="{url.replace("&", "&amp;")}">3</a>' in html
        assert numbers_behind(client, url) == numbers(world, "a", "edge", "open")
    client.force_login(users["acme.contact"])
    with freeze_time(NOW):
        html = client.get(reverse("sla-availability"), {"month": "2026-11"}).content.decode()
        url = f"{reverse('ticket-list')}?status=all&service={world['phone'].pk}&outage=2026-11"
        assert f'href="{url.replace("&", "&amp;")}">3</a>' in html
        assert "Datacenter" not in html


def test_a_contact_drills_down_to_their_organisations_tickets_only(world, users, client, api):
    contact = users["acme.contact"]
    board = board_of(contact)
    november = trend_row(board, NOVEMBER)
    assert november["ratings"] == 2  # without Globex's g
    assert [r.name for r in board.availability] == ["Internet", "Telefonie"]
    phone = service_row(board.availability, world["phone"])
    client.force_login(contact)
    with freeze_time(NOW):
        assert november["ratings_url"].startswith(reverse("ticket-list"))
        assert numbers_behind(client, november["ratings_url"]) == numbers(world, "a", "b")
        assert phone.outages_url.startswith(reverse("ticket-list"))
        assert numbers_behind(client, phone.outages_url) == numbers(world, "a", "edge", "open")
        assert api_numbers(api, contact, phone.outages_url) == numbers(world, "a", "edge", "open")
        line = service_row(board.availability, world["line"])
        assert numbers_behind(client, line.outages_url) == numbers(world, "net")
        # Globex's rated and outage tickets never show, whatever the contact asks for
        tickets = reverse("ticket-list")
        g = world["g"].number
        for query in (
            "status=all&rated=2026-11",
            "status=all&outage=2026-11",
            f"status=all&service={world['dc'].pk}&outage=2026-11",
            f"status=all&service={world['dc'].pk}",
            f"status=all&rated=2026-11&organization={world['g'].organization_id}",
        ):
            listed = numbers_behind(client, f"{tickets}?{query}")
            assert g not in listed, query
            assert g not in api_numbers(api, contact, f"{tickets}?{query}"), query
        assert numbers_behind(client, f"{tickets}?status=all&service={world['dc'].pk}") == set()
        # Globex's contact sees their own outage, none of Acme's
        client.force_login(users["globex.contact"])
        assert numbers_behind(client, f"{tickets}?status=all&outage=2026-11") == {g}
    # the drill-down line names the filters in use
    client.force_login(contact)
    with freeze_time(NOW):
        html = client.get(phone.outages_url).content.decode()
    assert "Filtered from the dashboard:" in html and "Outage in month 2026-11" in html


def test_drill_down_line_in_dutch(world, users, client):
    users["acme.contact"].language = "nl"
    users["acme.contact"].save()
    client.force_login(users["acme.contact"])
    with freeze_time(NOW):
        html = client.get(
            reverse("ticket-list"), {"status": "all", "rated": "2026-11"}, HTTP_ACCEPT_LANGUAGE="nl"
        ).content.decode()
        assert "Beoordeeld in maand 2026-11" in html
        html = client.get(
            reverse("dashboard"), {"month": "2026-11"}, HTTP_ACCEPT_LANGUAGE="nl"
        ).content.decode()
    assert ">Storingen<" in html


@pytest.mark.parametrize(
    "query",
    [
        {"rated": "2026-13"},
        {"rated": "x" * 5000},
        {"rated": "0001-01"},
        {"outage": "abc"},
        {"outage": "9999-12"},
        {"service": "1e300"},
        {"service": "-1"},
        {"service": str(10**30)},
        {"service": "<script>"},
    ],
)
def test_invalid_values_are_refused_with_the_reason(world, users, client, api, query):
    client.force_login(users["director"])
    response = client.get(reverse("queue"), query)
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    client.force_login(users["acme.contact"])
    response = client.get(reverse("ticket-list"), query)
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert client.get(reverse("ticket-list-export"), {**query, "format": "csv"}).status_code == 400
    for who in ("director", "acme.contact"):
        assert api(users[who]).get("/api/v1/tickets/", query).status_code == 400


def test_a_saved_view_keeps_the_drill_down(world, users, client):
    query = f"status=all&service={world['phone'].pk}&outage=2026-11&rated=2026-11"
    kept = queue_views.normalise(query)
    assert "outage=2026-11" in kept and "rated=2026-11" in kept
    assert f"service={world['phone'].pk}" in kept
    client.force_login(users["director"])
    with freeze_time(NOW):
        assert numbers_behind(client, f"{reverse('queue')}?{kept}") == numbers(world, "a")
        view, error = queue_views.save_view(users["director"], "Rated outages", query)
        assert error is None
        html = client.get(reverse("queue")).content.decode()
    # the view's count: a alone (rated in November, with a November outage of Telefonie)
    assert "Rated outages" in html
    views = queue_views.views_for(users["director"])
    with freeze_time(NOW):
        queue_views.count_views(SimpleNamespace(user=users["director"]), views)
    assert next(v for v in views if v.own == view).count == 1


@pytest.mark.parametrize("url_name", ["queue", "ticket-list"])
def test_drill_down_lists_take_constant_queries(
    world, users, client, url_name, django_assert_max_num_queries
):
    user = users["director"] if url_name == "queue" else users["acme.contact"]
    client.force_login(user)
    query = {"status": "all", "service": world["phone"].pk, "outage": "2026-11"}
    rated = {"status": "all", "rated": "2026-11"}
    with freeze_time(NOW), django_assert_max_num_queries(60) as before:
        client.get(reverse(url_name), query)
        client.get(reverse(url_name), rated)
    for day in range(5, 11):
        t = incident(users, "acme.user", at(2026, 11, day, 9), world["phone"], H)
        mark(t, users)
        rate(t, users, 1 + day % 5, at(2026, 11, day, 12))
    with freeze_time(NOW), django_assert_max_num_queries(len(before.captured_queries)):
        first = client.get(reverse(url_name), query)
        second = client.get(reverse(url_name), rated)
    assert len(set(NUMBER.findall(first.content.decode()))) == 3 + 6  # a, edge, open
    # a, b (and Globex's g on the queue)
    rated_count = 3 + 6 if url_name == "queue" else 2 + 6
    assert len(set(NUMBER.findall(second.content.decode()))) == rated_count
