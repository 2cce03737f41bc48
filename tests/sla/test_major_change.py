"""SLA document versions in force, reminders and the Major Change route (SPEC §11, issue 18
item 5): the engine applies the version in force at registration, every step and deadline of
the route with freezegun (the old targets kept while a route is open and during a termination's
notice period, the new ones after), the reminders once, roles and tenants, the page and API."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from freezegun import freeze_time

from escalation.models import Channel, Notification
from sla import documents, majorchange
from sla import services as sla_services
from sla.models import PolicyTarget, RouteState, SlaDocumentStep, SlaPolicy, TicketSla
from sla.tasks import sla_document_route
from tickets.models import Kind, Ticket

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ANNOUNCED = "2027-01-10 10:00:00+01:00"
EFFECTIVE = dt.date(2027, 5, 1)
OBJECTION_DUE = dt.date(2027, 2, 9)  # the announcement + 30 days
MANAGERS = {"csm", "opsmanager", "director"}


def at(day, time="10:00:00"):
    return freeze_time(f"{day} {time}+01:00")


def clone_policy(policy, name, **amounts):
    """A copy of `policy` with its targets; `amounts` sets incident targets, e.g.
    p1_response=60 (minutes)."""
    copy = SlaPolicy.objects.create(
        name=name,
        office_calendar=policy.office_calendar,
        always_calendar=policy.always_calendar,
        always_priorities=policy.always_priorities,
    )
    for t in PolicyTarget.objects.filter(policy=policy):
        key = f"p{t.priority}_{t.target}"
        amount = amounts.get(key, t.amount) if t.kind == Kind.INCIDENT else t.amount
        PolicyTarget.objects.create(
            policy=copy,
            kind=t.kind,
            priority=t.priority,
            target=t.target,
            unit=t.unit,
            amount=amount,
            average_goal_minutes=t.average_goal_minutes,
            always_calendar=t.always_calendar,
        )
    return copy


def p1_response_minutes(policy):
    return PolicyTarget.objects.get(
        policy=policy, kind=Kind.INCIDENT, priority=1, target="response"
    ).amount


@pytest.fixture
def worse(policy):
    """The P1 response doubles: a Major Change by the portal's own measure."""
    return clone_policy(policy, "Standaard SLA 2027", p1_response=p1_response_minutes(policy) * 2)


@pytest.fixture
def better(policy):
    return clone_policy(policy, "Plus SLA", p1_response=15)


def register(contract, user, policy=None, *, effective_from=EFFECTIVE, number="2.0", **fields):
    return documents.register_version(
        contract,
        user,
        number=number,
        date=timezone.localdate(),
        description="Nieuwe voorwaarden",
        document=SimpleUploadedFile(f"sla-{number}.pdf", PDF, "application/pdf"),
        policy=policy,
        effective_from=effective_from,
        **fields,
    )


@pytest.fixture
def major(contracts, users, worse):
    with at("2027-01-10"):
        return register(contracts["acme"], users["admin"], worse)


def ticket_on(day, make_ticket, reporter="acme.user", priority=1):
    with at(day, "11:00:00"):
        return make_ticket(reporter=reporter, priority=priority)


def policy_of(ticket):
    return TicketSla.objects.get(ticket=ticket).terms["policy"]


def route_step(api, user, version, **data):
    return api(user).post(f"/api/v1/sla-documents/{version.pk}/route/", data, format="json")


def route_notices(key, version):
    return Notification.objects.filter(trigger=f"sla_document:{version.pk}:{key}")


def recipients(rows):
    return set(rows.values_list("recipient__username", flat=True))


# --- the version in force --------------------------------------------------------------------


def test_the_engine_applies_the_version_in_force_at_registration(
    contracts, users, policy, better, make_ticket
):
    with at("2027-01-10"):
        version = register(contracts["acme"], users["admin"], better)
    assert version.route_state == ""  # shorter targets: no Major Change
    before = ticket_on("2027-04-30", make_ticket)
    on_the_day = ticket_on("2027-05-01", make_ticket)
    globex = ticket_on("2027-05-03", make_ticket, reporter="globex.user")
    assert policy_of(before) == policy.pk
    assert policy_of(on_the_day) == better.pk
    assert TicketSla.objects.get(ticket=on_the_day).terms["sla_version"] == "2.0"
    assert policy_of(globex) == policy.pk  # another organisation's contract: its own terms
    response = {c.target: c.target_seconds for c in on_the_day.clocks.all()}["response"]
    assert response == 15 * 60
    # a ticket keeps the policy it was registered under: recompute and recompute_sla too
    with at("2027-05-02"):
        sla_services.recompute(before)
        sla_services.recompute_open()
    assert policy_of(before) == policy.pk
    assert {c.target: c.target_seconds for c in before.clocks.all()}["response"] == 30 * 60


def test_a_version_without_policy_keeps_the_contracts_policy(contracts, users, policy, make_ticket):
    with at("2027-01-10"):
        register(contracts["acme"], users["admin"], None)
    assert policy_of(ticket_on("2027-05-03", make_ticket)) == policy.pk


def test_a_changed_version_drops_the_cached_terms(contracts, users, policy, better, make_ticket):
    with at("2027-01-10"):
        version = register(contracts["acme"], users["admin"], better)
    assert policy_of(ticket_on("2027-05-01", make_ticket)) == better.pk  # the day's terms cached
    with at("2027-05-01", "11:30:00"):
        version.policy = None
        version.save()
    assert policy_of(ticket_on("2027-05-01", make_ticket)) == policy.pk


# --- is it a Major Change? ------------------------------------------------------------------


def test_longer_targets_mark_a_major_change(major, worse):
    assert major.route_state == RouteState.NOTICE
    assert major.worse_targets == ["incident P1 response"]
    assert major.applies_from == EFFECTIVE


def test_the_provider_marks_a_major_change(contracts, users, better):
    with at("2027-01-10"):
        version = register(contracts["acme"], users["admin"], better, major_change=True)
    assert version.route_state == RouteState.NOTICE and version.worse_targets == []


def test_an_override_of_the_contract_hides_the_longer_target(contracts, users, worse):
    contracts["acme"].overrides.create(
        kind=Kind.INCIDENT, priority=1, target="response", unit="minutes", amount=20
    )
    with at("2027-01-10"):
        version = register(contracts["acme"], users["admin"], worse)
    assert version.route_state == "" and version.worse_targets == []


def test_the_announcement_of_a_major_change_names_the_objection_term(major):
    from escalation.delivery import message_for

    row = Notification.objects.get(template="sla_document", channel=Channel.IN_APP)
    with translation.override("en"):
        _subject, body, _extra = message_for(row)
    assert "Major Change" in body and "Feb. 9, 2027" in body


# --- no objection: applies as announced --------------------------------------------------------


def test_no_objection_within_30_days_applies_as_announced(
    major, worse, policy, users, api, make_ticket
):
    with at("2027-02-09", "23:00:00"):
        sla_document_route()
    major.refresh_from_db()
    assert major.route_state == RouteState.NOTICE  # the last day to object
    with at("2027-02-10"):
        late = route_step(api, users["acme.contact"], major, action="object", reason="Te laat")
        sla_document_route()
        sla_document_route()
    assert late.status_code == 409
    with translation.override("en"):
        assert "Feb. 9, 2027" in late.json()["detail"]
    major.refresh_from_db()
    assert major.route_state == RouteState.ACCEPTED
    assert SlaDocumentStep.objects.filter(version=major, kind="accepted").count() == 1
    assert policy_of(ticket_on("2027-04-30", make_ticket)) == policy.pk
    assert policy_of(ticket_on("2027-05-01", make_ticket)) == worse.pk


# --- objection → consultation → agreement -------------------------------------------------------


def test_objection_consultation_and_agreement_at_an_agreed_date(
    major, worse, policy, users, api, make_ticket
):
    with at("2027-01-15"):
        objected = route_step(
            api, users["acme.contact"], major, action="object", reason="P1 te traag"
        )
    assert objected.status_code == 200, objected.content
    route = objected.json()["major_change"]
    assert route["state"] == "objected"
    assert route["consultation_due"] == "2027-01-29"
    assert route["agreement_due"] == "2027-02-12"
    assert route["termination_due"] == "2027-03-14"
    assert objected.json()["applies_from"] is None
    assert recipients(route_notices("objected", major)) == MANAGERS
    # while the route is open the old policy applies, even after the planned date
    with at("2027-01-20"):
        consulted = route_step(api, users["csm"], major, action="consult", note="Overleg 20/1")
    assert consulted.status_code == 200, consulted.content
    assert consulted.json()["major_change"]["agreement_due"] == "2027-02-03"
    assert recipients(route_notices("consulted", major)) == {"acme.contact"}
    with at("2027-02-01"):
        too_soon = route_step(
            api, users["acme.contact"], major, action="agree", applies_on="2027-02-01"
        )
        agreed = route_step(
            api, users["acme.contact"], major, action="agree", applies_on="2027-07-01"
        )
    assert too_soon.status_code == 400
    assert agreed.status_code == 200, agreed.content
    assert agreed.json()["applies_from"] == "2027-07-01"
    assert recipients(route_notices("agreed", major)) == MANAGERS | {"acme.contact"}
    assert policy_of(ticket_on("2027-05-03", make_ticket)) == policy.pk
    assert policy_of(ticket_on("2027-07-01", make_ticket)) == worse.pk
    steps = list(major.steps.values_list("kind", "actor__username"))
    assert steps == [
        ("announced", "admin"),
        ("objected", "acme.contact"),
        ("consulted", "csm"),
        ("agreed", "acme.contact"),
    ]


def test_the_provider_agrees_and_the_version_applies_as_planned(
    major, worse, users, api, make_ticket
):
    with at("2027-01-15"):
        route_step(api, users["acme.contact"], major, action="object", reason="Nee")
    with at("2027-02-12", "16:00:00"):  # no consultation: the agreement term ends 14 days later
        agreed = route_step(api, users["director"], major, action="agree")
    assert agreed.status_code == 200, agreed.content
    assert agreed.json()["applies_from"] == "2027-05-01"
    assert policy_of(ticket_on("2027-05-01", make_ticket)) == worse.pk


# --- no agreement: termination, or the version applies after the window ----------------------


def test_termination_keeps_the_old_targets_during_the_notice_period(
    major, worse, policy, users, api, make_ticket
):
    with at("2027-01-15"):
        route_step(api, users["acme.contact"], major, action="object", reason="Nee")
    with at("2027-01-25"):
        route_step(api, users["csm"], major, action="consult", note="Geen akkoord")
    # agreement term: until 8 February; termination: 9 February – 10 March
    with at("2027-02-08"), translation.override("en"):
        early = route_step(api, users["acme.contact"], major, action="terminate")
    assert early.status_code == 409
    assert "Feb. 8, 2027" in early.json()["detail"]
    with at("2027-02-09"), translation.override("en"):
        sla_document_route()
        late_agreement = route_step(api, users["csm"], major, action="agree")
        too_long = route_step(
            api, users["acme.contact"], major, action="terminate", terminates_on="2027-05-10"
        )
        terminated = route_step(
            api, users["acme.contact"], major, action="terminate", terminates_on="2027-05-09"
        )
    assert late_agreement.status_code == 409
    assert "Feb. 8, 2027" in late_agreement.json()["detail"]
    assert too_long.status_code == 400
    assert "May 9, 2027" in str(too_long.json())
    assert terminated.status_code == 200, terminated.content
    body = terminated.json()
    assert body["major_change"]["state"] == "terminated"
    assert body["major_change"]["terminates_on"] == "2027-05-09"
    assert body["applies_from"] == "2027-05-09"
    assert recipients(route_notices("no_agreement", major)) == MANAGERS | {"acme.contact"}
    assert recipients(route_notices("terminated", major)) == MANAGERS | {"acme.contact"}
    # the planned date passes: the old targets are kept during the notice period ...
    during = ticket_on("2027-05-03", make_ticket)
    assert policy_of(during) == policy.pk
    assert {c.target: c.target_seconds for c in during.clocks.all()}["response"] == 30 * 60
    # ... and the new ones apply once the termination takes effect
    after = ticket_on("2027-05-10", make_ticket)
    assert policy_of(after) == worse.pk
    assert {c.target: c.target_seconds for c in after.clocks.all()}["response"] == 60 * 60
    with at("2027-02-10"):
        again = route_step(api, users["acme.contact"], major, action="terminate")
    assert again.status_code == 409


def test_neither_agreement_nor_termination_applies_the_version_after_the_window(
    major, worse, policy, users, api, make_ticket
):
    with at("2027-02-09"):  # the last day to object
        route_step(api, users["acme.contact"], major, action="object", reason="Nee")
    # consultation due 23 Feb, agreement 9 Mar, termination until 8 Apr
    with at("2027-02-24"), translation.override("en"):
        late = route_step(api, users["csm"], major, action="consult", note="Te laat")
    assert late.status_code == 409 and "Feb. 23, 2027" in late.json()["detail"]
    with at("2027-04-08", "22:00:00"):  # 23:00 in Amsterdam (summer time)
        sla_document_route()
    major.refresh_from_db()
    assert major.route_state == RouteState.OBJECTED  # the window's last day
    assert majorchange.phase(major, dt.date(2027, 4, 8)) == "no_agreement"
    with at("2027-04-09"):
        sla_document_route()
        sla_document_route()
        refused = route_step(api, users["acme.contact"], major, action="terminate")
    assert refused.status_code == 409
    major.refresh_from_db()
    assert major.route_state == RouteState.LAPSED
    assert major.applies_from == EFFECTIVE  # never before its own date
    assert route_notices("lapsed", major).filter(channel=Channel.EMAIL).count() == 4
    assert policy_of(ticket_on("2027-04-30", make_ticket)) == policy.pk
    assert policy_of(ticket_on("2027-05-01", make_ticket)) == worse.pk


def test_a_late_beat_does_not_change_what_the_engine_applies(major, worse, users, api, make_ticket):
    """Which policy applies follows from the recorded steps and the date alone."""
    with at("2027-01-15"):
        route_step(api, users["acme.contact"], major, action="object", reason="Nee")
    # the termination window (until 13 March) lapsed; beat has not run since
    assert policy_of(ticket_on("2027-05-02", make_ticket)) == worse.pk


# --- reminders --------------------------------------------------------------------------------


def test_the_contacts_are_reminded_30_and_7_days_before_a_version_takes_effect(
    contracts, users, better
):
    with at("2027-01-10"):
        version = register(contracts["acme"], users["admin"], better)
    for day in ("2027-03-31", "2027-04-01", "2027-04-01", "2027-04-23", "2027-04-24"):
        with at(day):
            sla_document_route()
    rows = Notification.objects.filter(template="sla_route")
    assert sorted(set(rows.values_list("trigger", flat=True))) == [
        f"sla_document:{version.pk}:effect:30:2027-05-01",
        f"sla_document:{version.pk}:effect:7:2027-05-01",
    ]
    assert recipients(rows) == {"acme.contact"}
    assert rows.count() == 4  # two reminders, e-mail and bell, once each
    with at("2027-05-01"):
        sla_document_route()
    assert rows.count() == 4


def test_the_route_reminds_before_each_deadline(major, users, api):
    with at("2027-02-01"):
        sla_document_route()
    assert not route_notices("objection_reminder", major).exists()
    with at("2027-02-02"):
        sla_document_route()
        sla_document_route()
    assert recipients(route_notices("objection_reminder", major)) == {"acme.contact"}
    assert route_notices("objection_reminder", major).count() == 2
    with at("2027-02-03"):
        route_step(api, users["acme.contact"], major, action="object", reason="Nee")
    # consultation due 17 February: the managers three days before
    with at("2027-02-13"):
        sla_document_route()
    assert not route_notices("consultation_reminder", major).exists()
    with at("2027-02-14"):
        sla_document_route()
    assert recipients(route_notices("consultation_reminder", major)) == MANAGERS
    # agreement due 3 March: both sides three days before
    with at("2027-02-28"):
        sla_document_route()
    assert recipients(route_notices("agreement_reminder", major)) == MANAGERS | {"acme.contact"}
    # termination until 2 April: the contacts a week before
    with at("2027-03-26"):
        sla_document_route()
    assert recipients(route_notices("termination_reminder", major)) == {"acme.contact"}


def test_reminder_texts_are_readable(major, users, api):
    from escalation.delivery import message_for

    with at("2027-01-15"):
        route_step(api, users["acme.contact"], major, action="object", reason="Nee")
    row = route_notices("objected", major).filter(channel=Channel.IN_APP).first()
    with translation.override("en"):
        subject, body, _extra = message_for(row)
    assert "Acme" in subject and "2.0" in subject
    assert "Jan. 29, 2027" in body


# --- roles and tenants ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("acme.user", "object", 404),  # reads no versions
        ("globex.contact", "object", 404),  # another organisation's
        ("agent", "object", 403),
        ("csm", "object", 403),
        ("acme.contact", "consult", 403),
        ("agent", "consult", 403),
        ("csm", "terminate", 403),
    ],
)
def test_a_wrong_role_is_refused(major, users, api, who, action, status):
    with at("2027-01-15"):
        response = route_step(api, users[who], major, action=action, reason="x", note="x")
    assert response.status_code == status
    major.refresh_from_db()
    assert major.objected_at is None and major.consulted_at is None


def test_bad_input_is_a_clear_400(major, users, api):
    with at("2027-01-15"):
        client = api(users["acme.contact"])
        url = f"/api/v1/sla-documents/{major.pk}/route/"
        assert client.post(url, {"action": "object"}, format="json").status_code == 400
        assert client.post(url, {"action": "dance"}, format="json").status_code == 400
        assert client.post(url, {}, format="json").status_code == 400
        bad_date = client.post(url, {"action": "object", "reason": "x", "applies_on": "x"})
        assert bad_date.status_code == 400
    major.refresh_from_db()
    assert major.objected_at is None


def test_a_version_that_is_no_major_change_has_no_route(contracts, users, better, api):
    with at("2027-01-10"):
        version = register(contracts["acme"], users["admin"], better)
    with at("2027-01-15"):
        response = route_step(api, users["acme.contact"], version, action="object", reason="x")
    assert response.status_code == 409
    assert response.json()
    assert (
        api(users["acme.contact"])
        .get(f"/api/v1/sla-documents/{version.pk}/")
        .json()["major_change"]
        is None
    )


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_route_and_takes_its_steps(
    client, major, users, django_assert_max_num_queries
):
    client.force_login(users["acme.contact"])
    url = reverse("sla-documents")
    with at("2027-01-15"), translation.override("en"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        html = page.content.decode()
        assert f'id="route-{major.pk}"' in html
        assert "Feb. 9, 2027" in html  # the objection term
        assert 'value="object"' in html
        posted = client.post(
            reverse("sla-document-route", args=[major.pk]), {"action": "object", "text": "Nee"}
        )
        assert posted.status_code == 302
        again = client.post(
            reverse("sla-document-route", args=[major.pk]), {"action": "object", "text": "Nee"}
        )
        assert again.status_code == 409
    major.refresh_from_db()
    assert major.objection_reason == "Nee"
    client.force_login(users["csm"])
    with at("2027-01-16"):
        with django_assert_max_num_queries(12):
            staff_page = client.get(url).content.decode()
        assert 'value="consult"' in staff_page and "Acme" in staff_page
        posted = client.post(
            reverse("sla-document-route", args=[major.pk]), {"action": "consult", "text": "Ok"}
        )
    assert posted.status_code == 302
    client.force_login(users["agent"])
    with at("2027-01-17"):
        refused = client.post(
            reverse("sla-document-route", args=[major.pk]), {"action": "agree", "text": ""}
        )
    assert refused.status_code == 403


def test_the_page_costs_the_same_queries_for_more_versions(
    client, contracts, users, better, django_assert_max_num_queries
):
    client.force_login(users["acme.contact"])
    with at("2027-01-10"):
        for number in ("2.0", "2.1", "2.2", "2.3"):
            register(contracts["acme"], users["admin"], better, number=number, major_change=True)
        with django_assert_max_num_queries(10):
            page = client.get(reverse("sla-documents"))
    assert page.status_code == 200


# --- asking for a change of the SLA ----------------------------------------------------------


def test_a_contact_requests_an_sla_change_from_the_page(client, contracts, users):
    client.force_login(users["acme.contact"])
    page = client.get(reverse("sla-documents")).content.decode()
    assert reverse("sla-document-change-request") in page
    with translation.override("en"):
        posted = client.post(
            reverse("sla-document-change-request"),
            {"title": "P3 binnen 4 uur", "description": "Wij willen kortere reactietijden."},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    ticket = Ticket.objects.get(kind=Kind.QUESTION)
    assert posted.status_code == 302 and posted["Location"] == ticket.get_absolute_url()
    assert ticket.reporter == users["acme.contact"]
    assert "P3 binnen 4 uur" in ticket.title
    assert Notification.objects.filter(ticket=ticket, trigger="receipt").exists()
    empty = client.post(reverse("sla-document-change-request"), {"title": "", "description": ""})
    assert empty.status_code == 400


def test_the_change_request_api_is_for_authorised_contacts(api, contracts, users):
    data = {"title": "24/7 voor P2", "description": "Graag ook 's nachts."}
    url = "/api/v1/sla-documents/change-request/"
    created = api(users["acme.contact"]).post(url, data, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "question"
    assert api(users["acme.user"]).post(url, data, format="json").status_code == 403
    assert api(users["agent"]).post(url, data, format="json").status_code == 403
    assert api(users["acme.contact"]).post(url, {"title": "x"}, format="json").status_code == 400
    assert Ticket.objects.filter(kind=Kind.QUESTION).count() == 1


def test_the_longer_targets_are_shown_in_the_readers_words(client, major, users):
    """The stored codes ("incident P3 resolution") are shown translated, not as codes."""
    from sla.majorchange import target_words

    with translation.override("nl"):
        assert target_words("incident P3 resolution") == "Incident P3 oplossing"
        assert target_words("change P2 quote_notice") == "Wijziging P2 offertebericht"
    with translation.override("en"):
        assert target_words("incident P3 resolution") == "Incident P3 resolution"
    assert target_words("odd") == "odd"  # an unknown code stays as it is
    major.worse_targets = ["incident P3 resolution"]
    major.save(update_fields=["worse_targets"])
    users["acme.contact"].language = "nl"
    users["acme.contact"].save(update_fields=["language"])
    client.force_login(users["acme.contact"])
    html = client.get(reverse("sla-documents")).content.decode()
    assert "Incident P3 oplossing" in html and "incident P3 resolution" not in html
