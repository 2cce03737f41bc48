"""Search everywhere (issue 15 item 2): the header box, the /search/ page, the lists and the API's
`?search=` share `tickets.queries.search_tickets`. Runs on SQLite (icontains) and PostgreSQL
(full-text search on the trigger-kept documents, ranked)."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from pim.models import Location
from tickets import services
from tickets.models import Ticket, TicketUpdate, Visibility

SEARCH = reverse("search")
API = "/api/v1/tickets/"
POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture
def world(users, acme, globex, make_ticket):
    """Tickets of both organisations with distinct words, a location, updates and a note."""
    users["acme.user"].first_name, users["acme.user"].last_name = "Marieke", "Vlaswinkel"
    users["acme.user"].save()
    zwolle = Location.objects.create(organization=acme, name="Zwolle Kantoortuin")
    agent = users["agent"]
    printer = make_ticket(
        title="Printer jam on the second floor",
        description="The toner cartridge is stuck.",
        location=zwolle,
    )
    headset = make_ticket(title="Headset crackles", description="Only during calls.")
    services.add_update(headset, agent, "Replaced the cable with a Jabra adapter.")
    services.add_update(
        headset, agent, "Supplier Kwetterbox owes us a refund", visibility=Visibility.INTERNAL
    )
    globex_ticket = make_ticket(
        reporter="globex.user",
        title="Forklift terminal offline",
        description="The Quokkabridge gateway is down.",
    )
    return {"printer": printer, "headset": headset, "globex": globex_ticket}


def found(client, term):
    response = client.get(SEARCH, {"q": term})
    assert response.status_code == 200
    return [t.number for t in response.context["page"] or []]


def api_found(api_client, term):
    response = api_client.get(API, {"search": term})
    assert response.status_code == 200, response.content
    return sorted(t["number"] for t in response.json()["results"])


@pytest.fixture
def as_user(client, users):
    def _as(username):
        client.force_login(users[username])
        return client

    return _as


def sequence(ticket):
    return ticket.number.rsplit("-", 1)[1]


def test_bare_number_with_and_without_zeros(world, as_user):
    printer = world["printer"]
    seq = sequence(printer)  # e.g. "00001"
    agent = as_user("agent")
    assert found(agent, seq) == [printer.number]
    assert found(agent, str(int(seq))) == [printer.number]


def test_number_with_prefix(world, as_user):
    printer = world["printer"]
    kind_prefix, year, seq = printer.number.split("-")
    agent = as_user("agent")
    assert found(agent, printer.number) == [printer.number]
    assert found(agent, printer.number.lower()) == [printer.number]
    assert found(agent, f"{kind_prefix}-{int(seq)}") == [printer.number]
    assert found(agent, f"{year}-{seq}") == [printer.number]
    assert found(agent, f"CHG-{int(seq)}") == []  # another kind's prefix


def test_a_number_ends_at_the_dash(users, make_ticket, as_user):
    tickets = [make_ticket(title="Ticket") for _ in range(12)]
    first, twelfth = tickets[0], tickets[11]
    assert sequence(first) == "00001" and sequence(twelfth) == "00012"
    assert found(as_user("agent"), "1") == [first.number]  # not 00011 nor 00012


def test_title_and_description_words(world, as_user):
    agent = as_user("agent")
    assert found(agent, "toner") == [world["printer"].number]
    assert found(agent, "JAM printer") == [world["printer"].number]  # every word, any order
    assert found(agent, "printer headset") == []


def test_reporter_name_username_and_email(world, as_user):
    agent = as_user("agent")
    printer, headset = world["printer"].number, world["headset"].number
    assert sorted(found(agent, "Vlaswinkel")) == sorted([printer, headset])
    assert sorted(found(agent, "marieke vlaswinkel")) == sorted([printer, headset])
    assert found(agent, "globex.user") == [world["globex"].number]
    assert found(agent, "globex.user@example.com") == [world["globex"].number]


def test_location_name(world, as_user):
    assert found(as_user("agent"), "Kantoortuin") == [world["printer"].number]
    assert found(as_user("acme.user"), "zwolle") == [world["printer"].number]


def test_organisation_name(world, as_user):
    # "Globex Logistics" and "Acme Zorg": words in no ticket, reporter or location
    assert found(as_user("agent"), "Logistics") == [world["globex"].number]
    acme_numbers = sorted([world["printer"].number, world["headset"].number])
    assert sorted(found(as_user("agent"), "zorg")) == acme_numbers
    # words may mix the ticket's fields: an organisation and a word of the title
    assert found(as_user("agent"), "zorg printer") == [world["printer"].number]
    assert found(as_user("acme.contact"), "Logistics") == []


def test_public_update_text(world, as_user):
    assert found(as_user("acme.user"), "Jabra") == [world["headset"].number]


def test_internal_note_only_for_provider_staff(world, as_user):
    headset = world["headset"].number
    assert found(as_user("agent"), "Kwetterbox") == [headset]
    assert found(as_user("director"), "kwetterbox refund") == [headset]
    for customer in ("acme.user", "acme.contact"):
        assert found(as_user(customer), "Kwetterbox") == []


def test_another_organisations_ticket_is_never_found(world, as_user):
    globex = world["globex"]
    for customer in ("acme.user", "acme.contact"):
        client = as_user(customer)
        assert found(client, "Quokkabridge") == []
        assert found(client, globex.number) == []
        assert found(client, sequence(globex)) == []
        assert found(client, "Globex") == []
        assert found(client, "Logistics") == []
    assert found(as_user("globex.contact"), "Quokkabridge") == [globex.number]


def test_a_customer_user_finds_only_their_own_tickets(world, users, make_ticket, as_user):
    other = make_ticket(reporter="acme.user2", title="Printer of a colleague")
    assert found(as_user("acme.user2"), "printer") == [other.number]
    assert sorted(found(as_user("acme.contact"), "printer")) == sorted(
        [world["printer"].number, other.number]
    )


def test_empty_state_and_no_term(world, as_user):
    client = as_user("acme.user")
    response = client.get(SEARCH, {"q": "zzyzx"})
    assert response.status_code == 200
    assert "Nothing found for “zzyzx”" in response.text
    response = client.get(SEARCH)
    assert response.status_code == 200 and response.context["page"] is None


def test_empty_state_in_dutch(world, users, client):
    users["acme.user"].language = "nl"
    users["acme.user"].save()
    client.force_login(users["acme.user"])
    response = client.get(SEARCH, {"q": "zzyzx"}, HTTP_ACCEPT_LANGUAGE="nl")
    assert "Niets gevonden voor “zzyzx”" in response.text


def test_too_long_a_term_is_a_form_error(world, as_user):
    response = as_user("agent").get(SEARCH, {"q": "x" * 201})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text


def test_odd_input_is_no_error(world, as_user):
    client = as_user("agent")
    for term in ["'", "\\", "a & b | !c", "<->", ":*", "(", "printer:*", "'printer'", "-", "--1"]:
        assert client.get(SEARCH, {"q": term}).status_code == 200, term
        assert client.get(API, {"search": term}).status_code == 200, term


def test_header_has_one_labelled_search_box(world, as_user):
    html = as_user("acme.user").get(reverse("ticket-list")).text
    forms = re.findall(r'<form role="search" action="([^"]+)"', html)
    assert forms == [SEARCH]
    assert '<label for="header-search"' in html and 'id="header-search" name="q"' in html


def test_number_match_ranks_first(users, make_ticket, as_user):
    first = make_ticket(title="Router")
    mention = make_ticket(title=f"Follow-up of {int(sequence(first))}", description="Router")
    results = found(as_user("agent"), str(int(sequence(first))))
    assert results[0] == first.number
    if POSTGRESQL:
        assert results == [first.number, mention.number]


@pytest.mark.skipif(not POSTGRESQL, reason="ranking is PostgreSQL's full-text search")
def test_ranked_title_above_description_above_updates(users, make_ticket, as_user):
    in_update = make_ticket(title="One", description="Nothing")
    services.add_update(in_update, users["agent"], "The word is zebrafish.")
    in_description = make_ticket(title="Two", description="A zebrafish swims.")
    in_title = make_ticket(title="Zebrafish", description="Nothing")
    assert found(as_user("agent"), "zebrafish") == [
        in_title.number,
        in_description.number,
        in_update.number,
    ]


def test_prefix_of_a_word_matches(world, as_user):
    assert found(as_user("agent"), "cartrid") == [world["printer"].number]


def test_results_page_query_count_is_constant(
    users, make_ticket, as_user, django_assert_max_num_queries
):
    client = as_user("agent")
    for i in range(3):
        make_ticket(title=f"Scanner {i}")
    with django_assert_max_num_queries(20) as few:
        assert len(found(client, "scanner")) == 3
    for i in range(3, 25):
        make_ticket(title=f"Scanner {i}", reporter="acme.user2" if i % 2 else "acme.user")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(found(client, "scanner")) == 25


def test_pagination(users, make_ticket, as_user):
    for i in range(27):
        make_ticket(title=f"Monitor {i}")
    client = as_user("agent")
    assert len(found(client, "monitor")) == 25
    second = client.get(SEARCH, {"q": "monitor", "page": 2})
    assert len(second.context["page"].object_list) == 2
    assert "page=2" in client.get(SEARCH, {"q": "monitor"}).text


# --- the same search in the API and the lists --------------------------------------------


def test_api_search_filter(world, users, api):
    agent, customer = api(users["agent"]), api(users["acme.user"])
    printer, headset = world["printer"].number, world["headset"].number
    assert api_found(agent, sequence(world["printer"]).lstrip("0")) == [printer]
    assert api_found(agent, "Vlaswinkel") == sorted([printer, headset])
    assert api_found(agent, "Kantoortuin") == [printer]
    assert api_found(agent, "Kwetterbox") == [headset]
    assert api_found(customer, "Kwetterbox") == []
    assert api_found(customer, "Jabra") == [headset]
    assert api_found(customer, "Quokkabridge") == []
    assert api_found(api(users["globex.user"]), "Quokkabridge") == [world["globex"].number]


def test_queue_and_customer_list_share_the_search(world, as_user):
    agent = as_user("agent")
    page = agent.get(reverse("queue"), {"search": "Kwetterbox"}).context["page"]
    assert [t.number for t in page] == [world["headset"].number]
    customer = as_user("acme.user")
    page = customer.get(reverse("ticket-list"), {"q": "Kantoortuin"}).context["page"]
    assert [t.number for t in page] == [world["printer"].number]
    page = customer.get(reverse("ticket-list"), {"q": "Kwetterbox"}).context["page"]
    assert list(page) == []


# --- PostgreSQL: the documents follow every write -------------------------------------------


def documents(ticket):
    return Ticket.objects.filter(pk=ticket.pk).values_list("search_document", "search_internal")[0]


@pytest.mark.skipif(not POSTGRESQL, reason="search documents are PostgreSQL's")
def test_documents_follow_writes(world, users, as_user):
    headset = world["headset"]
    public, internal = documents(headset)
    assert "'jabra'" in public and "kwetterbox" not in public
    assert "'kwetterbox'" in internal
    # a stale full save() does not undo a newer update's words
    stale = Ticket.objects.get(pk=headset.pk)
    services.add_update(headset, users["agent"], "Swapped for a Plantronics set.")
    stale.save()
    assert "'plantronics'" in documents(headset)[0]
    # an edited update, a deleted one, a renamed reporter, an edited title
    edited = TicketUpdate.objects.filter(body__contains="Plantronics")
    edited.update(body="Swapped for a Sennheiser")
    assert "'sennheiser'" in documents(headset)[0]
    assert "'plantronics'" not in documents(headset)[0]
    TicketUpdate.objects.filter(body__contains="Kwetterbox").delete()
    assert documents(headset)[1] is None
    users["acme.user"].last_name = "Bloemendaal"
    users["acme.user"].save()
    assert "'bloemendaal'" in documents(headset)[0]
    Ticket.objects.filter(pk=headset.pk).update(title="Speakerphone hums")
    assert "'speakerphone'" in documents(headset)[0]
    assert found(as_user("agent"), "Bloemendaal speakerphone") == [headset.number]


@pytest.mark.skipif(not POSTGRESQL, reason="search documents are PostgreSQL's")
def test_a_description_word_is_found_through_the_documents_without_a_description_index(
    world, as_user
):
    """On PostgreSQL the description's words are searched in the documents: the description has
    no index of its own to keep on every write (its trigram index was never read)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'tickets_ticket'"
            " AND indexdef ILIKE %s",
            ["%description%"],
        )
        assert cursor.fetchall() == []
    assert found(as_user("agent"), "toner cartridge") == [world["printer"].number]


@pytest.mark.skipif(not POSTGRESQL, reason="the rank window is PostgreSQL's")
def test_a_broad_search_ranks_its_newest_matches_and_counts_them_all(
    users, make_ticket, as_user, monkeypatch
):
    from tickets import queries

    monkeypatch.setattr(queries, "RANK_WINDOW", 3)
    old_title_match = make_ticket(title="Modem", description="Nothing")
    newer = [make_ticket(title="Other", description=f"modem {i}") for i in range(4)]
    response = as_user("agent").get(SEARCH, {"q": "modem"})
    page = response.context["page"]
    assert page.paginator.count == 5  # every match counted
    # ranked within the newest three: the older title match is not among them
    assert [t.number for t in page] == [t.number for t in reversed(newer)][:3]
    assert old_title_match.number not in [t.number for t in page]
