"""The monthly SLA report per organisation (issue 17 item 3): its figures, files, mail and pages."""

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time
from pypdf import PdfReader

from escalation import services as escalation_services
from escalation.delivery import deliver
from escalation.models import Channel, Notification
from maintenance.models import MaintenanceNotice
from problems import services as problem_services
from sla import availability_queries, monthly, monthly_reports
from sla import services as sla_services
from sla.models import MonthlyReport
from sla.queries import compliance, organization_compliance
from tickets import services
from tickets.models import Status

AMS = ZoneInfo("Europe/Amsterdam")
pytestmark = pytest.mark.django_db
RESOLUTION = {"resolution_type": "definitive", "resolution_cause": "c", "resolution_how": "h"}
NOVEMBER = date(2026, 11, 1)
REPORT_DAY = datetime(2026, 12, 1, 7, 30, tzinfo=AMS)  # Tuesday, the first working day
MANAGERS = ("csm", "opsmanager", "director")


def at(*a):
    return datetime(*a, tzinfo=AMS)


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def _broker_breaker_closed(monkeypatch):
    from escalation import outbox

    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)


def incident(users, reporter, when, respond_after_min, resolve_after_min, **kwargs):
    with freeze_time(when):
        t = services.create_ticket(
            actor=users[reporter], title=kwargs.pop("title", "t"), description="d", priority=3,
            **kwargs,
        )  # fmt: skip
    with freeze_time(when + timedelta(minutes=respond_after_min)):
        services.take(t, users["agent"])
    with freeze_time(when + timedelta(minutes=respond_after_min + resolve_after_min)):
        services.transition(t, users["agent"], Status.RESOLVED, resolution=RESOLUTION)
    return t


@pytest.fixture
def month(contracts, users, acme, globex):
    """November 2026 of Acme: two incidents within every target, one that breached response
    and restore (no access recorded on it), one left out as "SLA not applicable"; a globex
    incident that breached too; maintenance done, an open problem and a customer escalation."""
    made = {
        "ok1": incident(users, "acme.user", at(2026, 11, 2, 9, 0), 30, 60, title="Fine one"),
        "ok2": incident(users, "acme.user", at(2026, 11, 3, 9, 0), 30, 180, title="Fine two"),
        "late": incident(
            users, "acme.user", at(2026, 11, 4, 9, 0), 200, 2 * 24 * 60, title="Late one"
        ),
        "na": incident(users, "acme.user", at(2026, 11, 5, 9, 0), 300, 60, title="Out of scope"),
        "globex": incident(
            users, "globex.user", at(2026, 11, 4, 9, 0), 200, 2 * 24 * 60, title="Globex late"
        ),
    }
    sla_services.set_sla_not_applicable(made["na"], users["agent"], "Caused outside the scope")
    with freeze_time(at(2026, 11, 9, 12, 0)):
        sla_services.record_no_access(
            made["late"], users["agent"], at(2026, 11, 4, 10, 0), at(2026, 11, 4, 11, 0), "closed"
        )
    # maintenance done in November for acme, one for globex only, one cancelled
    for title, org, status in [
        ("Acme switch firmware", acme, "completed"),
        ("Globex only work", globex, "completed"),
        ("Acme cancelled work", acme, "cancelled"),
    ]:
        notice = MaintenanceNotice.objects.create(
            kind="preventive",
            title=title,
            starts_at=at(2026, 11, 10, 22, 0),
            ends_at=at(2026, 11, 10, 23, 0),
            announced_at=at(2026, 11, 1, 9, 0),
            status=status,
            started_at=at(2026, 11, 10, 22, 5) if status == "completed" else None,
            completed_at=at(2026, 11, 10, 22, 40) if status == "completed" else None,
        )
        notice.organizations.add(org)
    with freeze_time(at(2026, 11, 20, 9, 0)):
        made["problem"] = problem_services.raise_problem(
            users["agent"],
            title="Internal problem title qz",
            description="d",
            impact="high",
            urgency="high",
            incidents=[made["late"], made["globex"]],
        )
    with freeze_time(at(2026, 11, 4, 15, 0)):
        escalation_services.escalate_by_customer(
            made["late"], users["acme.contact"], "Nobody called us back"
        )
        escalation_services.escalate_by_customer(
            made["globex"], users["globex.contact"], "Globex reason"
        )
    return made


def figures_now(acme):
    return monthly.month_figures(acme, NOVEMBER, REPORT_DAY)


# --- the figures -------------------------------------------------------------------------------


def test_figures_equal_a_hand_count_and_the_compliance_queries(month, acme, users):
    figures = figures_now(acme)
    rows = {(r["priority"], r["target"]): r for r in figures.compliance}
    # by hand: three counted incidents (the fourth is "SLA not applicable"), the late one
    # breached response (200 min > 2 h) and restore (18 business hours > 8 h)
    response, restore = rows[(3, "response")], rows[(3, "restore")]
    assert (response["count"], response["met"], response["breached"]) == (3, 2, 1)
    assert (restore["count"], restore["met"], restore["breached"]) == (3, 2, 1)
    assert (rows[(3, "resolution")]["met"], rows[(3, "resolution")]["breached"]) == (3, 0)
    # the same rows as the compliance the page, the API and the dashboard read
    start, end = at(2026, 11, 1), at(2026, 12, 1)
    assert figures.compliance == organization_compliance(
        acme.pk, since=start, until=end, now=REPORT_DAY
    )
    assert figures.compliance == compliance(
        users["director"], since=start, until=end, organization_id=acme.pk, now=REPORT_DAY
    )
    assert figures.compliance == compliance(
        users["acme.contact"], since=start, until=end, now=REPORT_DAY
    )
    # the average restore time against the goal (SPEC §4: P3 4 h)
    (p3,) = figures.restore
    assert p3.average_minutes == round((60 + 180 + 18 * 60) / 3) and p3.goal_minutes == 240
    assert p3.met is False
    # the breaches with their tickets and reasons: exactly the counted breached clocks
    late = month["late"]
    assert [(b.number, b.target) for b in figures.breaches] == [
        (late.number, "response"),
        (late.number, "restore"),
    ]
    assert sum(r["breached"] for r in figures.compliance) == figures.breach_count
    restore_breach = figures.breaches[1]
    assert restore_breach.used_seconds > restore_breach.target_seconds == 8 * 3600
    assert "2026-11-04 10:00" in " ".join(restore_breach.notes)  # no access, not counted
    assert [(e.number, e.reason) for e in figures.excluded] == [
        (month["na"].number, "Caused outside the scope")
    ]
    # availability: the same rows as the availability figures
    expected = availability_queries.figures(
        availability_queries.visible_services(users["director"], acme.pk), NOVEMBER, REPORT_DAY
    )
    assert figures.availability == expected and [a.name for a in expected] == ["Telefonie"]
    # the parts of the apps above sla: only acme's, never another organisation's
    assert [m.title for m in figures.maintenance] == ["Acme switch firmware"]
    assert figures.maintenance[0].starts_at == at(2026, 11, 10, 22, 5)  # as it happened
    (problem,) = figures.problems
    assert problem.number == month["problem"].ticket.number
    assert problem.incidents == (late.number,)
    assert [(e.number, e.reason) for e in figures.escalations] == [
        (late.number, "Nobody called us back")
    ]


def test_figures_cost_the_same_queries_whatever_the_data(month, acme, users, contracts):
    with CaptureQueriesContext(connection) as few:
        monthly.month_figures(acme, NOVEMBER, REPORT_DAY)
    for day in range(16, 21):
        late = incident(users, "acme.user", at(2026, 11, day, 9, 0), 200, 2 * 24 * 60)
        with freeze_time(at(2026, 11, day, 15, 0)):
            escalation_services.escalate_by_customer(late, users["acme.contact"], "again")
        with freeze_time(at(2026, 11, day, 16, 0)):
            problem_services.raise_problem(
                users["agent"], title="p", description="d", impact="low", urgency="low",
                incidents=[late],
            )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        figures = monthly.month_figures(acme, NOVEMBER, REPORT_DAY)
    assert len(figures.breaches) > 2 + 5 and len(figures.problems) == 6
    # compliance 2, breaches 2, excluded 1, availability 9, maintenance 1, problems 3,
    # escalations 1
    assert len(many.captured_queries) == len(few.captured_queries) <= 19


# --- the files ----------------------------------------------------------------------------------


def pdf_text(report):
    with report.pdf.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_shows_the_figures_of_the_month(month, acme, users):
    with freeze_time(REPORT_DAY):
        report = monthly_reports.generate(acme, NOVEMBER)
    with translation.override(report.language):  # the labels and reasons as in the PDF
        figures = figures_now(acme)
        text = " ".join(pdf_text(report).split())
        assert "Acme Zorg" in text and "Globex" not in text and "Internal problem title" not in text
        for r in figures.compliance:
            share = (
                f"{r['share_within_target']:.1f} %" if r["share_within_target"] is not None else ""
            )
            cells = f"P{r['priority']} {r['target_label']} {r['count']} {r['met']} {r['breached']} "
            cells += f"{r['open']} {share}".strip()
            assert cells in text
        for b in figures.breaches:
            assert b.number in text and b.reason in text
        (p3,) = figures.restore
        assert f"P3 {p3.count} {p3.average_minutes} {p3.goal_minutes}" in text
        assert "Telefonie" in text and "Acme switch firmware" in text
        assert month["problem"].ticket.number in text and "Nobody called us back" in text
    assert report.language == "en"  # acme.contact reads English (tests' make_user)


def test_the_reports_figures_are_the_dashboards(month, acme, users):
    """One set of queries serves both: the month's compliance and restore averages of the
    report equal what the dashboard shows a manager for the organisation and month."""
    from sla import dashboard

    report = figures_now(acme)
    board = dashboard.figures(users["director"], NOVEMBER, acme.pk, now=REPORT_DAY)
    assert board.compliance  # the seeded month has figures
    assert [
        (r["priority"], r["target"], r["count"], r["met"], r["breached"], r["running"])
        for r in board.compliance
    ] == [
        (r["priority"], r["target"], r["count"], r["met"], r["breached"], r["open"])
        for r in report.compliance
    ]
    assert [
        (r["priority"], r["restored"], r["average_minutes"], r["goal_minutes"])
        for r in board.restore
    ] == [(r.priority, r.count, r.average_minutes, r.goal_minutes) for r in report.restore]
    assert sorted((a.service_id, a.downtime) for a in board.availability) == sorted(
        (a.service_id, a.downtime) for a in report.availability
    )


def test_the_csv_has_the_same_figures(month, acme):
    with freeze_time(REPORT_DAY):
        report = monthly_reports.generate(acme, NOVEMBER)
    with report.csv.open("rb") as f:
        rows = list(csv.DictReader(io.StringIO(f.read().decode("utf-8"))))
    figures = figures_now(acme)
    compliance_rows = [r for r in rows if r["section"] == "compliance"]
    assert [
        (int(r["priority"]), r["target"], int(r["count"]), int(r["met"]), int(r["breached"]))
        for r in compliance_rows
    ] == [
        (r["priority"], r["target"], r["count"], r["met"], r["breached"])
        for r in figures.compliance
    ]
    assert [(r["reference"], r["target"]) for r in rows if r["section"] == "breach"] == [
        (b.number, b.target) for b in figures.breaches
    ]
    assert {r["section"] for r in rows} >= {
        "restore_average", "excluded", "availability", "maintenance", "problem", "escalation"
    }  # fmt: skip
    assert all(r["organization"] == "Acme Zorg" and r["month"] == "2026-11" for r in rows)


def test_the_report_speaks_the_contacts_language(month, acme, users):
    users["acme.contact"].language = "nl"
    users["acme.contact"].save()
    with freeze_time(REPORT_DAY):
        report = monthly_reports.generate(acme, NOVEMBER)
    assert report.language == "nl"
    text = pdf_text(report)
    assert "Maandelijkse SLA-rapportage" in text and "Monthly SLA report" not in text


# --- the task: the first working day, mailed once ------------------------------------------------


def deliver_all():
    pending = Notification.objects.filter(status="pending", channel=Channel.EMAIL)
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        deliver(pk)


def test_the_report_is_mailed_exactly_once_even_when_the_task_runs_twice(month, acme, users):
    from sla.tasks import monthly_reports as task

    deliver_all()
    mail.outbox.clear()
    with freeze_time(REPORT_DAY):
        assert task() == 2  # acme and globex
        assert task() == 0
        assert monthly_reports.run() == []
    deliver_all()
    deliver_all()
    acme_mails = [m for m in mail.outbox if "Acme Zorg" in m.subject]
    assert sorted(a for m in acme_mails for a in m.to) == sorted(
        f"{name}@example.com" for name in ("acme.contact", *MANAGERS)
    )
    assert len(mail.outbox) == 2 * len(MANAGERS) + 2  # each manager both, each contact their own
    name, body, kind = acme_mails[0].attachments[0]
    assert name == "sla-report-2026-11.pdf" and kind == "application/pdf"
    assert body.startswith(b"%PDF")
    assert not any(a for m in mail.outbox if "Acme Zorg" in m.subject for a in m.to
                   if a.startswith("globex"))  # fmt: skip
    report = MonthlyReport.objects.get(organization=acme, month=NOVEMBER)
    assert report.mailed_at is not None
    # generating again replaces the files but mails nothing more
    with freeze_time(REPORT_DAY + timedelta(hours=2)):
        monthly_reports.generate(acme, NOVEMBER, actor=users["csm"])
        assert monthly_reports.run() == []
    deliver_all()
    assert len(mail.outbox) == 2 * len(MANAGERS) + 2
    assert Notification.objects.filter(template="sla_report", channel=Channel.IN_APP).count() == (
        2 * len(MANAGERS) + 2
    )


def test_a_report_generated_before_the_task_is_mailed_by_it_once(month, acme):
    with freeze_time(REPORT_DAY - timedelta(hours=1)):
        made = monthly_reports.generate(acme, NOVEMBER)
    assert made.mailed_at is None
    with freeze_time(REPORT_DAY):
        mailed = monthly_reports.run()
    assert {r.organization_id for r in mailed} >= {acme.pk}
    assert MonthlyReport.objects.get(pk=made.pk).mailed_at is not None


@pytest.mark.parametrize(
    ("day", "first"),
    [
        (date(2027, 1, 1), date(2027, 1, 4)),  # New Year's Day (Fri), then the weekend
        (date(2026, 8, 1), date(2026, 8, 3)),  # Saturday the 1st
        (date(2026, 11, 1), date(2026, 11, 2)),  # Sunday the 1st
        (date(2024, 4, 1), date(2024, 4, 2)),  # Easter Monday
        (date(2026, 12, 1), date(2026, 12, 1)),  # a Tuesday
        (date(2026, 12, 20), date(2026, 12, 1)),  # any day of the month
    ],
)
def test_the_first_working_day_follows_the_providers_calendar(db, day, first):
    assert monthly.first_working_day(day) == first


def test_the_task_does_nothing_before_the_first_working_day(month, acme):
    with freeze_time(at(2027, 1, 1, 7, 30)):  # New Year's Day
        assert monthly_reports.run() == []
    assert not MonthlyReport.objects.filter(month=date(2026, 12, 1)).exists()
    with freeze_time(at(2027, 1, 4, 7, 30)):
        assert {r.organization_id for r in monthly_reports.run()} >= {acme.pk}
    assert MonthlyReport.objects.filter(month=date(2026, 12, 1), organization=acme).exists()


def test_beat_runs_the_task_on_weekday_mornings(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sla-monthly-reports"]
    assert entry["task"] == "sla.tasks.monthly_reports"
    assert entry["schedule"].day_of_week == {1, 2, 3, 4, 5}


# --- the portal and the API: tenant isolation ---------------------------------------------------


@pytest.fixture
def reports(month, acme, globex):
    with freeze_time(REPORT_DAY):
        return {
            "acme": monthly_reports.generate(acme, NOVEMBER),
            "globex": monthly_reports.generate(globex, NOVEMBER),
        }


def test_an_authorised_contact_sees_only_their_organisations_reports(
    reports, users, client, api, django_assert_max_num_queries
):
    client.force_login(users["acme.contact"])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("sla-reports"))
    body = page.content.decode()
    assert page.status_code == 200 and "Acme Zorg" in body and "Globex" not in body
    assert reverse("sla-report-pdf", args=[reports["acme"].pk]) in body
    assert reverse("sla-report-pdf", args=[reports["globex"].pk]) not in body
    assert "id_report_generate" not in body  # staff only
    own = client.get(reverse("sla-report-pdf", args=[reports["acme"].pk]))
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"
    assert b"".join(own.streaming_content).startswith(b"%PDF")
    own_csv = client.get(reverse("sla-report-csv", args=[reports["acme"].pk]))
    assert own_csv.status_code == 200 and b"Globex" not in b"".join(own_csv.streaming_content)
    for name in ("sla-report-pdf", "sla-report-csv"):
        assert client.get(reverse(name, args=[reports["globex"].pk])).status_code == 404
    listed = api(users["acme.contact"]).get(reverse("api-sla-reports"))
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [reports["acme"].pk]
    assert listed.json()["results"][0]["month"] == "2026-11"


def test_other_customers_are_refused(reports, users, client, api):
    client.force_login(users["acme.user"])
    assert client.get(reverse("sla-reports")).status_code == 403
    assert client.get(reverse("sla-report-pdf", args=[reports["acme"].pk])).status_code == 404
    assert api(users["acme.user"]).get(reverse("api-sla-reports")).status_code == 403
    assert api().get(reverse("api-sla-reports")).status_code in (401, 403)


def test_staff_see_every_organisation_and_filter(reports, users, client, api, globex):
    client.force_login(users["director"])
    body = client.get(reverse("sla-reports")).content.decode()
    assert "Acme Zorg" in body and "Globex Logistics" in body
    filtered = client.get(reverse("sla-reports"), {"organization": globex.pk})
    assert reverse("sla-report-pdf", args=[reports["acme"].pk]) not in filtered.content.decode()
    listed = api(users["director"]).get(reverse("api-sla-reports"), {"organization": globex.pk})
    assert [r["id"] for r in listed.json()["results"]] == [reports["globex"].pk]


def test_the_empty_list_and_pagination(db, users, client, acme):
    client.force_login(users["acme.contact"])
    page = client.get(reverse("sla-reports"))
    assert page.status_code == 200 and "No reports yet" in page.content.decode()
    MonthlyReport.objects.bulk_create(
        MonthlyReport(
            organization=acme, month=date(2020 + n // 12, n % 12 + 1, 1), generated_at=REPORT_DAY,
            pdf="x.pdf", csv="x.csv",
        )
        for n in range(30)
    )  # fmt: skip
    first = client.get(reverse("sla-reports"))
    assert len(first.context["page"].object_list) == 25
    assert first.context["page"].object_list[0].month == date(2022, 6, 1)  # newest first
    second = client.get(reverse("sla-reports"), {"page": "2"})
    assert len(second.context["page"].object_list) == 5


@pytest.mark.parametrize(
    "params",
    [{"organization": "abc"}, {"organization": "-1"}, {"organization": "9" * 30}],
)
def test_hostile_filters_answer_400(reports, users, client, api, params):
    client.force_login(users["director"])
    assert client.get(reverse("sla-reports"), params).status_code == 400
    assert api(users["director"]).get(reverse("api-sla-reports"), params).status_code == 400


def test_hostile_ids_answer_404(reports, users, client):
    client.force_login(users["director"])
    for path in ("/sla/reports/0/report.pdf", "/sla/reports/99999999/report.csv",
                 f"/sla/reports/{10**30}/report.pdf", "/sla/reports/abc/report.pdf",
                 f"/sla/reports/{reports['acme'].pk}/report.exe"):  # fmt: skip
        assert client.get(path).status_code == 404, path


def test_staff_generate_a_report_on_demand(month, users, client, acme):
    client.force_login(users["csm"])
    data = {"organization": acme.pk, "month": "2026-11"}
    with freeze_time(REPORT_DAY):
        refused = client.post(reverse("sla-report-generate"), data)  # no confirmation
        assert refused.status_code == 400
        made = client.post(reverse("sla-report-generate"), {**data, "confirm": "on"})
        assert made.status_code == 302
        report = MonthlyReport.objects.get(organization=acme, month=NOVEMBER)
        assert report.generated_by == users["csm"] and report.mailed_at is None
        current = client.post(
            reverse("sla-report-generate"),
            {**data, "month": "2026-12", "confirm": "on"},
        )
        assert current.status_code == 409
        future = client.post(
            reverse("sla-report-generate"),
            {**data, "month": "2027-05", "confirm": "on"},
        )
        assert future.status_code == 409
    assert not Notification.objects.filter(template="sla_report").exists()
    client.force_login(users["acme.contact"])
    assert client.post(reverse("sla-report-generate"), {**data, "confirm": "on"}).status_code == 403


def test_the_list_is_in_the_openapi_schema(db, users, client):
    client.force_login(users["director"])
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/sla/reports/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"organization", "page"}


def test_the_bell_leads_to_the_reports(month, users, client):
    with freeze_time(REPORT_DAY):
        monthly_reports.run()
    row = Notification.objects.get(
        template="sla_report", recipient=users["acme.contact"], channel=Channel.IN_APP
    )
    client.force_login(users["acme.contact"])
    assert client.get(reverse("notification-list"), {"kind": "contract"}).status_code == 200
    opened = client.get(reverse("notification-open", args=[row.pk]))
    assert opened.status_code == 302 and opened.url == reverse("sla-reports")
