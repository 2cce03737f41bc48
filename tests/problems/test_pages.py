"""The pages of problem management (staff only): the problem list, raising a problem from an
incident, the problem panel's actions, and the matching known errors on an incident's page with
their one-click link."""

import pytest
from django.urls import reverse

from problems import services
from problems.models import KnownError, Problem, ProblemIncident, WorkaroundSent


@pytest.fixture
def login(client, users):
    def _login(username):
        client.force_login(users[username])
        return client

    return _login


def post(client, ticket, **data):
    return client.post(reverse("ticket-problem", args=[ticket.number]), data)


def test_the_list_shows_open_problems_with_a_filter_and_an_empty_state(
    login, problem, users, django_assert_max_num_queries
):
    client = login("agent")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("problem-list")).text
    assert problem.ticket.number in page and "problems-empty" not in page
    page = client.get(reverse("problem-list") + "?state=closed").text
    assert problem.ticket.number not in page and "problems-empty" in page
    page = client.get(reverse("problem-list") + "?q=transfer").text
    assert problem.ticket.number in page
    page = client.get(reverse("problem-list") + "?q=printer&state=bogus").text
    assert "problems-empty" in page


def test_the_list_reads_in_constant_queries(login, users, incidents, django_assert_max_num_queries):
    for n in range(30):
        services.raise_problem(users["agent"], title=f"p{n}", description="d", incidents=incidents)
    client = login("agent")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("problem-list")).text
    assert page.count('id="problem-') == 25
    assert "?page=2" in page or "page=2" in page


@pytest.mark.parametrize("username", ["acme.user", "acme.contact"])
def test_customers_have_no_problem_pages(login, problem, username):
    client = login(username)
    assert client.get(reverse("problem-list")).status_code == 404
    assert client.get(reverse("problem-create")).status_code == 404
    assert client.get(problem.ticket.get_absolute_url()).status_code == 404
    incident = problem.links.first().incident
    if username == "acme.user":
        page = client.get(incident.get_absolute_url()).text
        assert problem.ticket.number not in page and "incident-problems" not in page
    response = post(client, problem.ticket, action="update", impact="low", urgency="low")
    assert response.status_code == 404


def test_an_agent_raises_a_problem_from_an_incident(login, incidents):
    client = login("agent")
    incident = incidents[0]
    page = client.get(incident.get_absolute_url()).text
    assert f"?incident={incident.number}" in page
    form = client.get(reverse("problem-create") + f"?incident={incident.number}").text
    assert incident.number in form and incident.title in form
    response = client.post(
        reverse("problem-create"),
        {"title": "Transfers drop", "description": "See the incidents.", "impact": "high",
         "urgency": "medium", "incidents": f"{incident.number}, {incidents[2].number}"},
    )  # fmt: skip
    problem = Problem.objects.get()
    assert response.status_code == 302 and response["Location"] == problem.ticket.get_absolute_url()
    assert problem.ticket.priority == 2
    assert {link.incident_id for link in problem.links.all()} == {incident.pk, incidents[2].pk}
    bad = client.post(
        reverse("problem-create"),
        {"title": "t", "description": "d", "impact": "high", "urgency": "high",
         "incidents": "INC-1999-99999"},
    )  # fmt: skip
    assert bad.status_code == 400 and "INC-1999-99999" in bad.text


def test_managers_read_and_raise_problems(login, problem):
    # Managers raise problems from the incident trends (issue 16 item 7, SPEC §7).
    client = login("csm")
    assert client.get(reverse("problem-list")).status_code == 200
    assert client.get(problem.ticket.get_absolute_url()).status_code == 200
    assert client.get(reverse("problem-create")).status_code == 200


def test_the_problem_panel_edits_links_and_records_a_known_error(login, problem, make_ticket, acme):
    client = login("agent")
    ticket = problem.ticket
    page = client.get(ticket.get_absolute_url()).text
    assert 'id="problem-panel"' in page
    response = post(client, ticket, action="update", impact="low", urgency="low",
                    root_cause="SBC firmware")  # fmt: skip
    assert response.status_code == 302
    problem.refresh_from_db()
    ticket.refresh_from_db()
    assert problem.root_cause == "SBC firmware" and ticket.priority == 4
    extra = make_ticket("acme.contact", title="Another dropped call")
    assert post(client, ticket, action="link", incidents=extra.number).status_code == 302
    assert ProblemIncident.objects.filter(problem=problem, incident=extra).exists()
    assert post(client, ticket, action="link", incidents="nonsense").status_code == 400
    response = post(
        client, ticket, action="known_error", title="Transfers drop on old firmware",
        symptoms="Call drops on transfer", workaround="Use the console",
        published_to=[acme.pk], services=[acme.services.first().pk],
    )  # fmt: skip
    assert response.status_code == 302
    known_error = KnownError.objects.get()
    assert list(known_error.published_to.all()) == [acme]
    assert post(client, ticket, action="known_error", title="").status_code == 400
    response = post(client, ticket, action="known_error", known_error=known_error.pk,
                    title="Renamed", workaround="Use the console")  # fmt: skip
    assert response.status_code == 302
    known_error.refresh_from_db()
    assert known_error.title == "Renamed" and not known_error.published_to.exists()
    for _ in range(2):
        response = post(client, ticket, action="send_workaround", known_error=known_error.pk)
        assert response.status_code == 302
    assert WorkaroundSent.objects.filter(known_error=known_error).count() == 5
    page = client.get(ticket.get_absolute_url()).text
    assert "Renamed" in page and "known-error-" in page
    assert post(client, ticket, action="send_workaround", known_error="x").status_code == 404
    assert post(client, ticket, action="bogus").status_code == 302


def test_the_agent_links_a_suggested_known_error_in_one_click(
    login, known_error, make_ticket, acme
):
    incident = make_ticket(
        "acme.contact", title="Gesprek valt weg bij doorverbinden", description="Beller weg.",
        service=acme.services.first(),
    )  # fmt: skip
    client = login("agent")
    page = client.get(incident.get_absolute_url()).text
    assert f'id="link-known-error-{known_error.pk}"' in page
    assert known_error.workaround in page
    response = post(client, incident, action="link_known_error", known_error=known_error.pk)
    assert response.status_code == 302
    assert ProblemIncident.objects.filter(problem=known_error.problem, incident=incident).exists()
    page = client.get(incident.get_absolute_url()).text
    assert known_error.problem.ticket.number in page
    assert f'id="link-known-error-{known_error.pk}"' not in page  # linked: no longer suggested


# --- customers: published known errors while they type a new incident's title -------------------


def test_a_customer_typing_a_title_sees_published_known_errors_and_follows_one(
    login, known_error, users
):
    client = login("acme.user")
    url = reverse("ticket-create")
    page = client.get(url, {"title": "gesprek valt weg bij doorverbinden"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert f'id="known-error-hint-{known_error.pk}"' in page.text
    assert known_error.workaround in page.text
    assert known_error.root_cause not in page.text  # internal
    assert 'id="known-error-hint-list"' not in client.get(url, {"title": "printer"}).text
    response = client.post(
        reverse("known-error-follow", args=[known_error.pk]), {"title": "gesprek valt weg"}
    )
    assert response.status_code == 302 and "title=gesprek" in response["Location"]
    assert known_error.followers.filter(user=users["acme.user"]).exists()
    page = client.get(response["Location"]).text
    assert f'id="follow-known-error-{known_error.pk}"' not in page  # followed already
    assert 'value="gesprek valt weg"' in page  # what was typed stays


def test_another_organisation_never_sees_the_known_error(login, known_error):
    client = login("globex.user")
    page = client.get(reverse("ticket-create"), {"title": "doorverbinden gesprek valt weg"}).text
    assert "known-error-hint-list" not in page and known_error.title not in page
    response = client.post(reverse("known-error-follow", args=[known_error.pk]))
    assert response.status_code == 404
    agent = login("agent")
    assert agent.post(reverse("known-error-follow", args=[known_error.pk])).status_code == 404


def test_a_known_error_is_published_only_to_affected_organisations(login, problem, acme, globex):
    # The problem's incidents are acme's and globex's; initech has none linked.
    from pim.models import Organization, Service

    initech = Organization.objects.create(name="Initech", slug="initech")
    Service.objects.create(organization=initech, name="Printers", code="printers")
    client = login("agent")
    page = client.get(problem.ticket.get_absolute_url()).text
    assert "Globex Logistics" in page and "Initech" not in page
    response = post(
        client, problem.ticket, action="known_error", title="Transfers drop",
        workaround="Use the console", published_to=[initech.pk],
    )  # fmt: skip
    assert response.status_code == 400
    assert not KnownError.objects.exists()
    response = post(
        client, problem.ticket, action="known_error", title="Transfers drop",
        workaround="Use the console", published_to=[globex.pk],
    )  # fmt: skip
    assert response.status_code == 302
    assert list(KnownError.objects.get().published_to.all()) == [globex]
