import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from freezegun import freeze_time

from pim.exceptions import IllegalStateChange
from pim.scoping import organization_filter, user_scope
from sla import services as sla_services
from sla.models import Clock
from sla.queries import compliance, monthly_outcomes, state_q
from tickets import services
from tickets.models import Status

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db
RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "c", "resolution_how": "h"}


def at(*a):
    return datetime(*a, tzinfo=AMS)


def incident(users, reporter, when, respond_after_min, resolve_after_min):
    from datetime import timedelta

    with freeze_time(when):
        t = services.create_ticket(actor=users[reporter], title="t", description="d", priority=3)
    with freeze_time(when + timedelta(minutes=respond_after_min)):
        services.take(t, users["agent"])
    with freeze_time(when + timedelta(minutes=respond_after_min + resolve_after_min)):
        services.transition(t, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    return t


def row(rows, org, target):
    return next(r for r in rows if r["organization"] == org and r["target"] == target)


def test_compliance_counts_and_average_restore(contracts, users):
    incident(users, "acme.user", at(2026, 11, 2, 9, 0), 30, 60)  # met, restore 60 min
    incident(users, "acme.user", at(2026, 11, 3, 9, 0), 30, 180)  # met, restore 180 min
    late = incident(users, "acme.user", at(2026, 11, 4, 9, 0), 200, 2 * 24 * 60)  # both breached
    with freeze_time(at(2026, 11, 30, 12, 0)):
        rows = compliance(users["csm"])
    response = row(rows, "Acme Zorg", "response")
    assert (response["count"], response["met"], response["breached"]) == (3, 2, 1)
    assert response["share_within_target"] == pytest.approx(66.7)
    restore = row(rows, "Acme Zorg", "restore")
    assert restore["met"] == 2 and restore["breached"] == 1  # 18 business hours > 8 h
    assert restore["average_restore_minutes"] == round((60 + 180 + 18 * 60) / 3)
    assert restore["average_goal_minutes"] == 240
    assert rows[0]["month"].astimezone(AMS).month == 11
    # "SLA not applicable" leaves the figures
    sla_services.set_sla_not_applicable(late, users["agent"], "No access to the premises")
    with freeze_time(at(2026, 11, 30, 12, 0)):
        rows = compliance(users["csm"])
    response = row(rows, "Acme Zorg", "response")
    assert (response["count"], response["breached"]) == (2, 0)


def test_compliance_is_one_query_and_tenant_scoped(contracts, users, django_assert_max_num_queries):
    incident(users, "acme.user", at(2026, 11, 2, 9, 0), 30, 60)
    incident(users, "globex.user", at(2026, 11, 2, 9, 0), 30, 60)
    with django_assert_max_num_queries(2):
        rows = compliance(users["acme.contact"])
    assert {r["organization"] for r in rows} == {"Acme Zorg"}
    assert {r["organization"] for r in compliance(users["director"])} == {
        "Acme Zorg",
        "Globex Logistics",
    }


def test_compliance_page_access(contracts, users, client):
    incident(users, "globex.user", at(2026, 11, 2, 9, 0), 30, 60)
    client.force_login(users["acme.contact"])
    page = client.get(reverse("sla-compliance"), {"since": "2026-01"})
    assert page.status_code == 200 and "Globex" not in page.content.decode()
    client.force_login(users["acme.user"])
    assert client.get(reverse("sla-compliance")).status_code == 404
    client.force_login(users["opsmanager"])
    page = client.get(reverse("sla-compliance"), {"since": "2026-01"})
    assert "Globex Logistics" in page.content.decode()
    # invalid filters are shown on the page as form errors (400), not silently ignored
    page = client.get(reverse("sla-compliance"), {"since": "garbage", "organization": "x"})
    assert page.status_code == 400
    assert set(page.context["form"].errors) == {"since", "organization"}


# --- the report columns: the same figures as the definition over tickets ----------------------


def old_definition(user, now, since=None):
    """Compliance as it was defined before the Clock report columns: grouped over the ticket's
    organisation, current priority, registration month (Europe/Amsterdam) and "SLA applies"."""
    qs = Clock.objects.filter(organization_filter(user, "ticket__organization")).filter(
        ticket__sla_not_applicable=False
    )
    if since:
        qs = qs.filter(ticket__reported_at__gte=since)
    rows = (
        qs.annotate(registered=TruncMonth("ticket__reported_at", tzinfo=AMS))
        .values("registered", "ticket__organization__name", "ticket__priority", "target")
        .annotate(
            total=Count("id"),
            met=Count("id", filter=state_q("met", now)),
            breached=Count("id", filter=state_q("breached", now)),
            avg_restore=Avg("used_seconds", filter=Q(target="restore", stopped_at__isnull=False)),
        )
    )
    return {
        (r["registered"].astimezone(UTC), r["ticket__organization__name"], r["ticket__priority"],
         r["target"]): (r["total"], r["met"], r["breached"],
                        round(r["avg_restore"] / 60) if r["avg_restore"] is not None else None)
        for r in rows
    }  # fmt: skip


def figures(rows):
    return {
        (r["month"], r["organization"], r["priority"], r["target"]): (
            r["count"],
            r["met"],
            r["breached"],
            r["average_restore_minutes"],
        )
        for r in rows
    }


# Registration moments around month ends: 00:30 on the 1st in Amsterdam is still the previous
# month in UTC.
MOMENTS = [
    at(2026, 9, 30, 16, 0), at(2026, 10, 1, 0, 30), at(2026, 10, 14, 9, 0),
    at(2026, 10, 31, 23, 30), at(2026, 11, 1, 0, 30), at(2026, 11, 18, 13, 0),
    at(2026, 11, 30, 16, 45), at(2026, 12, 1, 0, 30),
]  # fmt: skip


def random_ticket(rng, users):
    """A ticket registered at a random moment, then taken, paused, re-prioritised, worked around,
    resolved or marked "SLA not applicable" at random later moments."""
    from datetime import timedelta

    reporter = rng.choice(["acme.user", "globex.user"])
    when = rng.choice(MOMENTS) + timedelta(minutes=rng.randint(0, 90))
    agent = users["agent"]
    with freeze_time(when):
        ticket = services.create_ticket(
            actor=users[reporter], title="t", description="d", priority=rng.randint(1, 4)
        )
    for _ in range(rng.randint(0, 4)):
        when += timedelta(minutes=rng.randint(5, 3 * 24 * 60))
        step = rng.choice(["take", "wait", "back", "priority", "resolve", "not_applicable"])
        with freeze_time(when):
            ticket.refresh_from_db()
            try:
                if step == "take":
                    services.take(ticket, agent)
                elif step == "wait":
                    services.transition(ticket, agent, Status.WAITING_FOR_CUSTOMER)
                elif step == "back":
                    services.add_update(ticket, users[reporter], "Here you are.")
                elif step == "priority":
                    new = rng.choice([p for p in (1, 2, 3, 4) if p != ticket.priority])
                    services.change_priority(ticket, agent, new, "Reassessed")
                elif step == "resolve":
                    services.transition(ticket, agent, Status.RESOLVED, resolution=RESOLUTION)
                else:
                    sla_services.set_sla_not_applicable(ticket, agent, "Out of scope")
            except (ValidationError, PermissionDenied, IllegalStateChange):
                pass  # a step the ticket's state does not allow: the ticket stays as it is
    return ticket


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_report_columns_give_the_figures_of_the_ticket_definition(contracts, users, seed):
    rng = random.Random(seed)
    for _ in range(12):
        random_ticket(rng, users)
    now = at(2026, 12, 10, 12, 0)
    with freeze_time(now):
        for user in ("director", "acme.contact"):
            new = figures(compliance(users[user], now=now))
            assert new == old_definition(users[user], now)
            assert new
        since = at(2026, 11, 1, 0, 0)
        assert figures(compliance(users["director"], since=since, now=now)) == old_definition(
            users["director"], now, since=since
        )


@pytest.mark.parametrize("seed", [4, 5])
def test_monthly_outcomes_are_the_sums_of_the_compliance_rows(contracts, users, seed):
    """The dashboard's trend (met and breached per month, a lighter aggregation) equals the
    ticket definition's rows summed per month, for every viewer and organisation filter."""
    rng = random.Random(seed)
    for _ in range(12):
        random_ticket(rng, users)
    now = at(2026, 12, 10, 12, 0)
    since, until = at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0)
    acme = users["acme.contact"].organization_id_or_none
    with freeze_time(now):
        for user, organization_id in (
            ("director", None),
            ("director", acme),
            ("acme.contact", None),
        ):
            expected = {}
            for (month, org, _p, _t), (_n, met, breached, _avg) in old_definition(
                users[user], now, since=since
            ).items():
                if organization_id and org != "Acme Zorg":
                    continue
                key = month.astimezone(AMS).date()
                m, b = expected.get(key, (0, 0))
                expected[key] = (m + met, b + breached)
            got = monthly_outcomes(
                users[user], since=since, until=until, organization_id=organization_id, now=now
            )
            assert got == expected
            assert got


def test_an_authorised_contact_s_figures_read_the_clocks_alone(
    contracts, users, django_assert_max_num_queries
):
    """In the contact's scope (a request's) the aggregation reads the clocks' own organisation
    column, not the tickets (the scoped manager would join them: a million rows at scale), and
    still only their organisation's."""
    incident(users, "acme.user", at(2026, 11, 2, 9, 0), 30, 60)
    incident(users, "globex.user", at(2026, 11, 2, 9, 0), 30, 60)
    contact = users["acme.contact"]
    with user_scope(contact), django_assert_max_num_queries(3) as ctx:
        rows = compliance(contact)
        outcomes = monthly_outcomes(contact, since=at(2026, 11, 1, 0, 0), until=at(2026, 12, 1))
    assert {r["organization"] for r in rows} == {"Acme Zorg"}
    assert sum(r["count"] for r in rows) == 3  # response, restore, resolution of Acme's one
    assert sum(outcomes[at(2026, 11, 1).date()]) == 3
    aggregations = [q["sql"] for q in ctx.captured_queries if "sla_clock" in q["sql"]]
    assert len(aggregations) == 2
    assert not [sql for sql in aggregations if "tickets_ticket" in sql]


def test_api_default_period_is_the_previous_and_the_current_month(contracts, users, api):
    for when in (at(2026, 9, 15, 10, 0), at(2026, 10, 15, 10, 0), at(2026, 11, 2, 10, 0)):
        with freeze_time(when):
            services.create_ticket(actor=users["acme.user"], title="t", description="d")
    with freeze_time(at(2026, 11, 20, 12, 0)):
        rows = api(users["csm"]).get("/api/v1/sla/compliance/").json()
        assert {r["month"] for r in rows} == {
            "2026-10-01T00:00:00+02:00",
            "2026-11-01T00:00:00+01:00",
        }
        everything = api(users["csm"]).get("/api/v1/sla/compliance/", {"since": "2026-01"})
        assert len({r["month"] for r in everything.json()}) == 3
