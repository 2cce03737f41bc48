"""The manager views of problem management (issue 16 build item 7, SPEC §7): the open-problem
report (page and the monthly mail to managers, exactly once) and the incident-trend view (top
services and causes per month, in the portal's time zone) from which a manager raises a
problem."""

from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django.urls import reverse
from django_scopes import scopes_disabled
from freezegun import freeze_time

from escalation.delivery import deliver
from escalation.models import Channel, Notification
from problems import reports, services
from problems.models import Problem
from problems.tasks import mail_open_problem_report
from tickets.models import Status, Ticket

MANAGERS = ("csm", "opsmanager", "director")


def deliver_all():
    pending = Notification.objects.filter(status="pending", channel=Channel.EMAIL)
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        deliver(pk)


@pytest.fixture
def second_problem(users, incidents):
    return services.raise_problem(
        users["agent"],
        title="Slow mail delivery",
        description="Mail is late in the mornings.",
        impact="low",
        urgency="medium",
        incidents=incidents[:1],
    )


def close_problem(problem):
    with scopes_disabled():
        Ticket.objects.filter(pk=problem.ticket_id).update(status=Status.CLOSED)


# --- the open-problem report ---------------------------------------------------------------------


def test_the_report_lists_open_problems_most_urgent_first_in_two_queries(
    problem, second_problem, known_error, users, django_assert_num_queries
):
    with django_assert_num_queries(2):
        report = reports.open_problems()
    assert [row.ticket.number for row in report.rows] == [
        problem.ticket.number,  # P1
        second_problem.ticket.number,  # P4
    ]
    first = report.rows[0]
    assert (first.incident_count, first.organization_count) == (3, 2)
    assert [ke.title for ke in first.known_errors] == [known_error.title]
    assert first.has_workaround and not report.rows[1].has_workaround
    assert [(int(p), n) for p, n in report.by_priority] == [(1, 1), (2, 0), (3, 0), (4, 1)]


def test_a_resolved_problem_leaves_the_report(problem, second_problem, users):
    close_problem(second_problem)
    assert [row.ticket.pk for row in reports.open_problems().rows] == [problem.ticket.pk]


def test_the_report_page_is_for_provider_staff_only(client, problem, users):
    url = reverse("problem-report")
    for username in ("agent", "director", "csm"):
        client.force_login(users[username])
        page = client.get(url)
        assert page.status_code == 200, username
        assert problem.ticket.number in page.text
    for username in ("acme.contact", "acme.user", "globex.contact"):
        client.force_login(users[username])
        assert client.get(url).status_code == 404, username


def test_the_report_page_says_when_nothing_is_open(client, users):
    client.force_login(users["director"])
    page = client.get(reverse("problem-report"), HTTP_ACCEPT_LANGUAGE="nl")
    assert 'id="problem-report-empty"' in page.text


# --- the monthly mail ----------------------------------------------------------------------------


def test_the_monthly_report_reaches_each_manager_once_however_often_it_runs(
    problem, known_error, users
):
    deliver_all()
    mail.outbox.clear()
    with freeze_time("2026-12-01 06:00:00Z"):
        written = mail_open_problem_report()
        again = mail_open_problem_report()
    assert written == 2 * len(MANAGERS) and again == 0
    deliver_all()
    to = sorted(address for message in mail.outbox for address in message.to)
    assert to == sorted(f"{name}@example.com" for name in MANAGERS)
    body = mail.outbox[0].body
    assert problem.ticket.number in body and "2026-12" in mail.outbox[0].subject
    assert reverse("problem-report") in body
    # Customers and workers get no report; next month is a new report.
    assert not Notification.objects.filter(
        template="problem_report", recipient__in=[users["agent"], users["acme.contact"]]
    ).exists()
    with freeze_time("2027-01-01 06:00:00Z"):
        assert mail_open_problem_report() == 2 * len(MANAGERS)


def test_the_report_in_the_bell_leads_to_the_report_page(client, problem, users):
    with freeze_time("2026-12-01 06:00:00Z"):
        mail_open_problem_report()
    client.force_login(users["director"])
    page = client.get(reverse("notification-list"))
    assert page.status_code == 200
    row = Notification.objects.get(
        template="problem_report", recipient=users["director"], channel=Channel.IN_APP
    )
    opened = client.get(reverse("notification-open", args=[row.pk]))
    assert opened.status_code == 302 and opened.url == reverse("problem-report")


def test_the_beat_schedules_the_report_monthly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["problems-monthly-report"]
    assert entry["task"] == "problems.tasks.mail_open_problem_report"
    assert entry["schedule"].day_of_month == {1}


# --- incident trends -----------------------------------------------------------------------------


@pytest.fixture
def history(make_ticket, contracts, acme, globex):
    """Incidents over October and November 2026 (Europe/Amsterdam): the one at 23:30 UTC on
    31 October is 00:30 on 1 November in Amsterdam (CET since 25 October)."""
    phone, datacenter = acme.services.first(), globex.services.first()
    made = {}
    for key, at, reporter, service, cause in [
        ("oct1", "2026-10-05 09:00:00Z", "acme.user", phone, "Firmware SBC"),
        ("oct2", "2026-10-20 09:00:00Z", "globex.user", datacenter, ""),
        ("nov1", "2026-10-31 23:30:00Z", "acme.user", phone, " firmware sbc "),
        ("nov2", "2026-11-10 09:00:00Z", "acme.user2", phone, "FIRMWARE SBC"),
        ("nov3", "2026-11-11 09:00:00Z", "globex.user", datacenter, "Power cut"),
        ("nov4", "2026-11-12 09:00:00Z", "acme.user", None, ""),
    ]:
        with freeze_time(at):
            ticket = make_ticket(reporter, title=f"Incident {key}", service=service)
        with scopes_disabled():
            Ticket.objects.filter(pk=ticket.pk).update(resolution_cause=cause)
        made[key] = ticket
    return made


def month_of(trends, day):
    return next(m for m in trends if m.month == day)


def test_trends_count_incidents_services_and_causes_per_amsterdam_month(
    history, acme, globex, django_assert_max_num_queries
):
    with freeze_time("2026-11-20 12:00:00Z"), django_assert_max_num_queries(4):
        trends = reports.incident_trends()
    assert len(trends) == 12 and trends[0].month == date(2026, 11, 1)
    assert trends[-1].month == date(2025, 12, 1)
    november, october = month_of(trends, date(2026, 11, 1)), month_of(trends, date(2026, 10, 1))
    assert (november.incidents, october.incidents) == (4, 2)
    assert [(s["name"], s["count"]) for s in november.services] == [
        ("Telefonie", 2),
        ("Datacenter", 1),
    ]
    assert [(c["cause"], c["count"]) for c in november.causes] == [
        ("firmware sbc", 2),
        ("power cut", 1),
    ]
    assert [(s["name"], s["count"]) for s in october.services] == [
        ("Datacenter", 1),
        ("Telefonie", 1),
    ]
    assert month_of(trends, date(2026, 9, 1)).incidents == 0
    with freeze_time("2026-11-20 12:00:00Z"):
        only_globex = reports.incident_trends(organization_id=globex.pk)
    assert month_of(only_globex, date(2026, 11, 1)).incidents == 1


def test_a_manager_raises_a_problem_from_a_trend_and_the_trend_then_names_it(
    client, history, users, acme
):
    phone = acme.services.first()
    client.force_login(users["director"])
    with freeze_time("2026-11-20 12:00:00Z"):
        page = client.get(reverse("problem-trends"))
        assert page.status_code == 200
        raise_url = reverse("problem-raise-from-trend") + f"?service={phone.pk}&month=2026-11"
        assert raise_url.replace("&", "&amp;") in page.text
        redirected = client.get(raise_url)
    assert redirected.status_code == 302
    query = parse_qs(urlparse(redirected.url).query)
    numbers = set(query["incidents"][0].split())
    assert numbers == {history["nov1"].number, history["nov2"].number}
    form = client.get(redirected.url)
    assert form.status_code == 200 and history["nov1"].number in form.text
    posted = client.post(
        reverse("problem-create"),
        {
            "title": query["title"][0],
            "description": "Recurring dropped calls.",
            "impact": "medium",
            "urgency": "medium",
            "incidents": query["incidents"][0],
        },
    )
    assert posted.status_code == 302
    problem = Problem.objects.get()
    assert problem.owner is None  # a manager raised it: a worker takes it
    assert {link.incident.number for link in problem.links.all()} == numbers
    with freeze_time("2026-11-20 12:00:00Z"):
        november = month_of(reports.incident_trends(), date(2026, 11, 1))
        page = client.get(reverse("problem-trends"))
    telefonie = next(s for s in november.services if s["name"] == "Telefonie")
    assert telefonie["problem"] == problem.ticket.number
    assert problem.ticket.number in page.text


def test_trend_pages_refuse_bad_input_and_customers(client, history, users, acme):
    client.force_login(users["director"])
    assert client.get(reverse("problem-trends") + "?organization=abc").status_code == 400
    assert client.get(reverse("problem-trends") + "?organization=999999").status_code == 400
    raise_url = reverse("problem-raise-from-trend")
    phone = acme.services.first()
    assert client.get(raise_url + f"?service={phone.pk}&month=2026-13").status_code == 404
    assert client.get(raise_url + "?service=x&month=2026-11").status_code == 404
    assert client.get(raise_url + f"?service={phone.pk}&month=2020-01").status_code == 404
    client.force_login(users["acme.contact"])
    assert client.get(reverse("problem-trends")).status_code == 404
    assert client.get(raise_url + f"?service={phone.pk}&month=2026-11").status_code == 404


def test_a_customer_may_still_not_register_a_problem(users, incidents):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.raise_problem(
            users["acme.contact"], title="x", description="y", incidents=incidents[:1]
        )
