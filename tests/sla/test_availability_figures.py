"""Availability per service (SPEC §9): service levels, outages marked on incidents, maintenance
at its actual times, the figures for all services, the API and the page."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from maintenance import services as maintenance_services
from maintenance.models import Kind as NoticeKind
from maintenance.models import Status as NoticeStatus
from pim.models import Service
from sla import availability_queries, outages
from sla.availability import availability
from sla.businesstime import BusinessCalendar
from sla.models import Calendar, Outage, ServiceKind, ServiceLevel
from tickets import services
from tickets.models import AuditEntry, Status

from .test_availability import at

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
H = timedelta(hours=1)
NOW = at(2027, 1, 10, 12)  # December 2026 is over
OFFICE = BusinessCalendar.office_hours(tz="Europe/Amsterdam", country="NL")
ALWAYS = BusinessCalendar.always(tz="Europe/Amsterdam")
RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "c", "resolution_how": "h"}
DECEMBER = (at(2026, 12, 1), at(2027, 1, 1))
YEAR = (at(2026, 1, 1), at(2027, 1, 1))


def incident(users, reporter, service, when, restored_after=None, **kwargs):
    """An incident of `service` reported at `when`, taken 5 minutes later and resolved
    `restored_after` after the report (if given)."""
    with freeze_time(when):
        ticket = services.create_ticket(
            actor=users[reporter], title="Down", description="d", service=service, **kwargs
        )
    with freeze_time(when + timedelta(minutes=5)):
        services.take(ticket, users["agent"])
    if restored_after is not None:
        with freeze_time(when + restored_after):
            services.transition(ticket, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    ticket.refresh_from_db()
    return ticket


def mark(ticket, users, start=None, end=None):
    with freeze_time(NOW):
        return outages.mark_outage(ticket, users["agent"], start, end)


def notice(users, start, end, kind=NoticeKind.PREVENTIVE, **kwargs):
    """A notice announced on 20 November (7 days ahead of anything in December)."""
    return maintenance_services.create_notice(
        users["agent"],
        kind=kind,
        title="Maintenance",
        starts_at=start,
        ends_at=end,
        now=at(2026, 11, 20, 9),
        **kwargs,
    )


@pytest.fixture
def setting(contracts, users, acme, globex):
    """Acme: Telefonie (no level: Service & Support, office hours) and Internet (a connection,
    99.5 % by its contract, 24/7); Globex: Datacenter (datacenter, 24/7)."""
    telefonie = acme.services.get()
    internet = Service.objects.create(organization=acme, name="Internet", code="internet")
    ServiceLevel.objects.create(service=internet, kind=ServiceKind.CONNECTION, target="99.5")
    datacenter = globex.services.get()
    ServiceLevel.objects.create(service=datacenter, kind=ServiceKind.DATACENTER)
    return {"telefonie": telefonie, "internet": internet, "datacenter": datacenter}


@pytest.fixture
def december(setting, users, acme, globex):
    """Outages and maintenance in (and around) December 2026."""
    s = setting
    # Telefonie: Wed 2 Dec 10:00, restored at 12:00 (defaults: report → restore)
    phone = incident(users, "acme.user", s["telefonie"], at(2026, 12, 2, 10), restored_after=2 * H)
    mark(phone, users)
    # …announced maintenance planned 11:00–11:30, in fact 11:30–12:30: half an hour inside
    planned = notice(
        users, at(2026, 12, 2, 11), at(2026, 12, 2, 11, 30), organizations=[acme],
        services=[s["telefonie"]],
    )  # fmt: skip
    maintenance_services.post_status_update(
        planned, users["agent"], NoticeStatus.IN_PROGRESS, now=at(2026, 12, 2, 11, 30)
    )
    maintenance_services.post_status_update(
        planned, users["agent"], NoticeStatus.COMPLETED, now=at(2026, 12, 2, 12, 30)
    )
    # …and a cancelled notice over the whole outage, which never counts
    cancelled = notice(users, at(2026, 12, 2, 9), at(2026, 12, 2, 13), organizations=[acme])
    maintenance_services.post_status_update(
        cancelled, users["agent"], NoticeStatus.CANCELLED, now=at(2026, 11, 25)
    )
    # Internet: 30 Nov 22:00 → 1 Dec 03:00, set by the agent (crosses the month boundary)
    line = incident(users, "acme.user", s["internet"], at(2026, 11, 30, 22, 10), 6 * H)
    mark(line, users, at(2026, 11, 30, 22), at(2026, 12, 1, 3))
    # Datacenter: 8 Dec 22:00 → 9 Dec 02:00, emergency maintenance 23:00–01:00 inside it
    dc = incident(users, "globex.user", s["datacenter"], at(2026, 12, 8, 22), 4 * H)
    mark(dc, users)
    with freeze_time(at(2026, 12, 8, 22, 30)):
        notice(
            users, at(2026, 12, 8, 23), at(2026, 12, 9, 1), kind=NoticeKind.EMERGENCY,
            organizations=[globex],
        )  # fmt: skip
    # An outage in June counts in the year to date only
    june = incident(users, "globex.user", s["datacenter"], at(2026, 6, 3, 10), H)
    mark(june, users)
    return {"phone": phone, "line": line, "dc": dc, "june": june}


def by_service(rows):
    return {row.service_id: row for row in rows}


def figures(user, month, **kwargs):
    with freeze_time(NOW):
        return by_service(
            availability_queries.figures(
                availability_queries.visible_services(user, **kwargs), month.date()
            )
        )


def test_figures_equal_the_pure_function(setting, december, users):
    s = setting
    rows = figures(users["director"], DECEMBER[0])
    phone_out = [(at(2026, 12, 2, 10), at(2026, 12, 2, 12))]
    phone_maintenance = [(at(2026, 12, 2, 11, 30), at(2026, 12, 2, 12, 30))]
    expected = availability(OFFICE, *DECEMBER, phone_out, phone_maintenance)
    phone = rows[s["telefonie"].pk]
    assert (phone.scheduled, phone.downtime) == (22 * 9 * H, 90 * timedelta(minutes=1))
    assert (phone.scheduled, phone.downtime, phone.availability) == (
        expected.scheduled,
        expected.downtime,
        expected.ratio,
    )
    assert phone.kind == ServiceKind.SERVICE_SUPPORT and phone.target == pytest.approx(0.9999)
    assert phone.year_to_date == availability(OFFICE, *YEAR, phone_out, phone_maintenance).ratio
    assert not phone.met  # 1.5 h in a year of office hours is more than 0.01 %

    line = rows[s["internet"].pk]
    assert line.downtime == 3 * H  # 00:00–03:00 of the 5 hours: the rest was November
    assert line.scheduled == 31 * 24 * H  # a connection runs 24/7 by default
    assert line.target == pytest.approx(0.995)
    assert line.year_to_date == 1 - 5 / (365 * 24)
    assert line.met

    dc = rows[s["datacenter"].pk]
    assert dc.downtime == 2 * H  # 4 hours minus the 2 hours of emergency maintenance
    assert dc.availability == 1 - 2 / (31 * 24)
    assert dc.year_to_date == 1 - 3 / (365 * 24)  # and the June hour
    assert dc.target == pytest.approx(0.9998)

    # the outages reaching into the month (the June one is the year's only)
    assert (phone.outages, line.outages, dc.outages) == (1, 1, 1)

    november = figures(users["director"], at(2026, 11, 1))
    assert november[s["internet"].pk].downtime == 2 * H
    assert november[s["internet"].pk].outages == 1  # the line's crosses into December
    assert november[s["telefonie"].pk].outages == november[s["datacenter"].pk].outages == 0
    assert november[s["telefonie"].pk].downtime == timedelta(0)
    assert november[s["telefonie"].pk].availability == 1.0


def test_an_outage_not_restored_yet_counts_until_now(setting, users):
    ticket = incident(users, "globex.user", setting["datacenter"], at(2026, 12, 7, 9))
    mark(ticket, users)
    with freeze_time(at(2026, 12, 7, 15)):
        rows = by_service(
            availability_queries.figures(
                availability_queries.visible_services(users["csm"]), at(2026, 12, 1).date()
            )
        )
    dc = rows[setting["datacenter"].pk]
    assert dc.downtime == 6 * H and dc.outages == 1
    assert dc.scheduled == (6 * 24 + 15) * H  # the current month counts until now
    future = figures(users["csm"], at(2027, 3, 1))
    assert future[setting["datacenter"].pk].scheduled == timedelta(0)
    assert future[setting["datacenter"].pk].outages == 0  # not until now
    assert future[setting["datacenter"].pk].availability == 1.0


def test_an_own_window_and_target_and_sla_not_applicable(setting, december, users):
    night = Calendar.objects.create(name="Nachten", always_open=True)
    level = ServiceLevel.objects.create(
        service=setting["telefonie"], kind=ServiceKind.PLATFORM, window=night
    )
    rows = figures(users["director"], DECEMBER[0])
    phone = rows[setting["telefonie"].pk]
    assert phone.scheduled == 31 * 24 * H  # its own (24/7) calendar
    assert phone.downtime == 90 * timedelta(minutes=1)
    assert phone.target == pytest.approx(0.999)
    level.target = "99.999"
    level.save()
    assert figures(users["director"], DECEMBER[0])[setting["telefonie"].pk].target == 0.99999
    # an incident the SLA does not apply to leaves the figures
    from sla import services as sla_services

    sla_services.set_sla_not_applicable(december["phone"], users["agent"], "Customer's own PBX")
    phone = figures(users["director"], DECEMBER[0])[setting["telefonie"].pk]
    assert (phone.downtime, phone.outages) == (timedelta(0), 0)


def test_figures_take_a_bounded_number_of_queries(
    setting, december, users, acme, django_assert_max_num_queries
):
    for i in range(12):
        service = Service.objects.create(organization=acme, name=f"Dienst {i}", code=f"d{i}")
        ServiceLevel.objects.create(service=service, kind=list(ServiceKind)[i % 5])
        mark(incident(users, "acme.user", service, at(2026, 12, 3 + i % 5, 9), H), users)
    availability_queries.figures(
        availability_queries.visible_services(users["director"]), DECEMBER[0].date()
    )  # fmt: skip  (the calendars: built once)
    with freeze_time(NOW), django_assert_max_num_queries(10):
        rows = availability_queries.figures(
            availability_queries.visible_services(users["director"]), DECEMBER[0].date()
        )
    assert len(rows) == 15
    assert all(r.downtime == H for r in rows if r.name.startswith("Dienst"))


def test_a_connection_needs_its_contracts_target(setting):
    level = ServiceLevel(service=setting["telefonie"], kind=ServiceKind.CONNECTION)
    with pytest.raises(ValidationError) as exc:
        level.full_clean()
    assert "target" in exc.value.error_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        level.save()
    with pytest.raises(ValidationError):
        ServiceLevel(service=setting["telefonie"], target="100.5").full_clean()


# --- marking an outage ------------------------------------------------------------------------


def test_marking_an_outage_is_for_agents_validated_and_audited(setting, users, contracts):
    ticket = incident(users, "acme.user", setting["telefonie"], at(2026, 12, 2, 10), 2 * H)
    with pytest.raises(PermissionDenied):
        outages.mark_outage(ticket, users["acme.contact"])
    with freeze_time(NOW), pytest.raises(ValidationError) as exc:
        outages.mark_outage(ticket, users["agent"], at(2026, 12, 2, 12), at(2026, 12, 2, 11))
    assert "ends_at" in exc.value.error_dict
    with freeze_time(NOW), pytest.raises(ValidationError):
        outages.mark_outage(ticket, users["agent"], at(2027, 2, 1))  # in the future
    question = services.create_ticket(
        actor=users["acme.user"], title="Q", description="d", kind="question"
    )
    with pytest.raises(ValidationError):
        outages.mark_outage(question, users["agent"])
    without_service = incident(users, "acme.user", None, at(2026, 12, 3, 10), H)
    with pytest.raises(ValidationError):
        outages.mark_outage(without_service, users["agent"])

    mark(ticket, users)
    view = outages.outage_view(Outage.objects.get(ticket=ticket).ticket)
    assert (view.start, view.end) == (at(2026, 12, 2, 10), at(2026, 12, 2, 12))
    mark(ticket, users, at(2026, 12, 2, 9, 45))
    outages.clear_outage(ticket, users["agent"])
    assert not Outage.objects.filter(ticket=ticket).exists()
    trail = list(
        AuditEntry.objects.filter(ticket=ticket, action__startswith="outage").order_by("pk")
    )
    assert [(e.action, e.changes["outage_window"]) for e in trail] == [
        ("outage", [None, "… – …"]),
        ("outage", ["… – …", "2026-12-02 09:45 – …"]),
        ("outage_cleared", ["2026-12-02 09:45 – …", None]),
    ]


def test_outage_form_on_the_ticket_page(setting, users, contracts, client):
    ticket = incident(users, "acme.user", setting["telefonie"], at(2026, 12, 2, 10), 2 * H)
    client.force_login(users["agent"])
    page = client.get(ticket.get_absolute_url())
    assert b'action="%s"' % reverse("ticket-outage", args=[ticket.number]).encode() in page.content
    url = reverse("ticket-outage", args=[ticket.number])
    bad = client.post(url, {"starts_at": "2026-12-02T12:00", "ends_at": "2026-12-02T11:00"})
    assert bad.status_code == 400
    assert not Outage.objects.filter(ticket=ticket).exists()
    response = client.post(url, {"starts_at": "2026-12-02T10:15", "ends_at": ""})
    assert response.status_code == 302
    outage = Outage.objects.get(ticket=ticket)
    assert outage.starts_at == at(2026, 12, 2, 10, 15) and outage.ends_at is None
    page = client.get(ticket.get_absolute_url())
    assert "02-12-2026 10:15 – 02-12-2026 12:00" in page.content.decode()
    # the customer sees the outage, not the form, and cannot post it
    client.force_login(users["acme.user"])
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "02-12-2026 10:15" in page and reverse("ticket-outage", args=[ticket.number]) not in page
    client.post(url, {"clear": "1"})
    assert Outage.objects.filter(ticket=ticket).exists()
    client.force_login(users["agent"])
    assert client.post(url, {"clear": "1"}).status_code == 302
    assert not Outage.objects.filter(ticket=ticket).exists()


def test_outage_through_the_api(setting, users, contracts, api):
    ticket = incident(users, "acme.user", setting["telefonie"], at(2026, 12, 2, 10), 2 * H)
    url = f"/api/v1/tickets/{ticket.pk}/outage/"
    assert api(users["acme.contact"]).post(url, {}, format="json").status_code == 403
    assert api(users["globex.contact"]).post(url, {}, format="json").status_code == 404
    agent = api(users["agent"])
    response = agent.post(url, {"ends_at": "2026-12-02T11:30:00+01:00"}, format="json")
    assert response.status_code == 200, response.content
    outage = response.json()["outage"]
    assert outage["starts_at"] is None and outage["counted"] is True
    assert outage["start"].startswith("2026-12-02T10:00")
    assert outage["end"].startswith("2026-12-02T11:30")
    assert (
        agent.post(url, {"ends_at": "2026-12-02T09:00:00+01:00"}, format="json").status_code == 400
    )
    assert agent.post(url, {"starts_at": "nonsense"}, format="json").status_code == 400
    shown = api(users["acme.user"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert shown["outage"]["end"].startswith("2026-12-02T11:30")
    assert agent.post(url, {"marked": False}, format="json").json()["outage"] is None


def test_ticket_list_reads_outages_in_constant_queries(
    setting, users, contracts, api, django_assert_max_num_queries
):
    for day in range(2, 6):
        mark(incident(users, "acme.user", setting["telefonie"], at(2026, 12, day, 10), H), users)
    client = api(users["agent"])
    client.get("/api/v1/tickets/")
    with django_assert_max_num_queries(20) as few:
        client.get("/api/v1/tickets/")
    for day in range(7, 12):
        mark(incident(users, "acme.user", setting["telefonie"], at(2026, 12, day, 10), H), users)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = client.get("/api/v1/tickets/").json()["results"]
    assert sum(1 for r in rows if r["outage"]) == 9


# --- the API -----------------------------------------------------------------------------------


def api_rows(client, query):
    with freeze_time(NOW):
        response = client.get(f"/api/v1/availability/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_api_figures_equal_the_pure_functions(setting, december, users, api):
    rows = api_rows(api(users["director"]), "month=2026-12")
    assert [r["name"] for r in rows] == ["Internet", "Telefonie", "Datacenter"]
    by_id = {r["service"]: r for r in rows}
    phone = by_id[setting["telefonie"].pk]
    outs = [(at(2026, 12, 2, 10), at(2026, 12, 2, 12))]
    held = [(at(2026, 12, 2, 11, 30), at(2026, 12, 2, 12, 30))]
    month = availability(OFFICE, *DECEMBER, outs, held)
    year = availability(OFFICE, *YEAR, outs, held)
    assert phone == {
        "service": setting["telefonie"].pk,
        "name": "Telefonie",
        "organization": setting["telefonie"].organization_id,
        "kind": "service_support",
        "month": "2026-12",
        "scheduled_seconds": int(month.scheduled.total_seconds()),
        "downtime_seconds": int(month.downtime.total_seconds()),
        "availability": month.ratio,
        "target": 0.9999,
        "met": year.ratio >= 0.9999,
        "year_to_date": year.ratio,
    }
    dc = by_id[setting["datacenter"].pk]
    dc_out = [(at(2026, 12, 8, 22), at(2026, 12, 9, 2)), (at(2026, 6, 3, 10), at(2026, 6, 3, 11))]
    dc_held = [(at(2026, 12, 8, 23), at(2026, 12, 9, 1))]
    assert dc["availability"] == availability(ALWAYS, *DECEMBER, dc_out, dc_held).ratio
    assert dc["year_to_date"] == availability(ALWAYS, *YEAR, dc_out, dc_held).ratio
    assert (dc["kind"], dc["downtime_seconds"]) == ("datacenter", 7200)
    # filters
    only = api_rows(api(users["csm"]), f"month=2026-12&service={setting['internet'].pk}")
    assert [r["name"] for r in only] == ["Internet"]
    globex = api_rows(
        api(users["csm"]), f"month=2026-12&organization={setting['datacenter'].organization_id}"
    )
    assert [r["name"] for r in globex] == ["Datacenter"]


def test_api_is_tenant_scoped_and_refuses_bad_input(setting, december, users, api):
    contact = api(users["acme.contact"])
    rows = api_rows(contact, "month=2026-12")
    assert {r["name"] for r in rows} == {"Telefonie", "Internet"}
    globex_id = setting["datacenter"].organization_id
    assert api_rows(contact, f"month=2026-12&organization={globex_id}") == []
    assert api_rows(contact, f"month=2026-12&service={setting['datacenter'].pk}") == []
    assert api(users["acme.user"]).get("/api/v1/availability/").status_code == 403
    assert api().get("/api/v1/availability/").status_code in (401, 403)
    director = api(users["director"])
    for query in ("month=2026-13", "month=december", "month=1969-12", "organization=x",
                  "service=-1", "service=99999999999999999999"):  # fmt: skip
        response = director.get(f"/api/v1/availability/?{query}")
        assert response.status_code == 400, query
    assert len(api_rows(director, "")) == 3  # this month by default


def test_availability_is_in_the_schema(api, users):
    schema = api(users["director"]).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/availability/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"month", "organization", "service"}
    assert "/api/v1/tickets/{id}/outage/" in schema["paths"]


# --- the page ----------------------------------------------------------------------------------


def test_page_for_staff_and_authorised_contacts(setting, december, users, client):
    url = reverse("sla-availability")
    client.force_login(users["director"])
    with freeze_time(NOW):
        page = client.get(url, {"month": "2026-12"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Datacenter" in text and "Telefonie" in text and "<caption>" in text
    assert "99.596\N{NO-BREAK SPACE}%" in text  # Internet: 3 h of 744 h, rounded down
    with freeze_time(NOW):
        filtered = client.get(
            url, {"month": "2026-12", "organization": setting["datacenter"].organization_id}
        )
    assert "Telefonie" not in filtered.content.decode()
    assert client.get(url, {"month": "2026-99"}).status_code == 400

    client.force_login(users["acme.contact"])
    with freeze_time(NOW):
        own = client.get(url, {"month": "2026-12"}).content.decode()
    assert "Telefonie" in own and "Datacenter" not in own and "Globex" not in own
    client.force_login(users["acme.user"])
    assert client.get(url).status_code == 404


def test_page_in_dutch(setting, december, users, client):
    users["director"].language = "nl"
    users["director"].save()
    client.force_login(users["director"])
    with freeze_time(NOW), translation.override("nl"):
        text = client.get(
            reverse("sla-availability"), {"month": "2026-12"}, HTTP_ACCEPT_LANGUAGE="nl"
        ).content.decode()
    assert "Beschikbaarheid" in text
    assert "99,596\N{NO-BREAK SPACE}%" in text
