"""The tenant sweep of DESIGN §3: every URL pattern, as a customer of organisation A, aimed at the
objects of organisation B. Nothing of B may show, nothing of B may change.

The routes are read from the project's resolver, so routes added later are swept automatically.
A route with a URL keyword this test cannot fill fails loudly: teach KWARG_VALUES (and, for a
new kind of object, OBJECT_BY_SEGMENT) about it.
"""

import contextvars
import re
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.regex_helper import normalize
from django_scopes import ScopeError, scope, scopes_disabled

from pim.auth import create_token
from tickets import services
from tickets.models import Attachment, AuditEntry, PriorityChange, Ticket, TicketUpdate

SWEEP_USERS = ["acme.user", "acme.contact"]

# Patterns not swept, each with its reason (matched against the joined regex).
SKIP = {
    r"^\^?static/": "static files: served by WhiteNoise, no tenant data",
    r"^\^?media/": "uploads are never served from MEDIA_URL; attachments have their own view",
    r"^\^?__debug__/": "debug toolbar, development only",
}

# Leak markers of organisation B.
B_TITLE = "Globex scanners offline qx7"
B_ATTACHMENT_NAME = "globex-floorplan-qx7.pdf"
B_ATTACHMENT_BODY = b"%PDF-1.4 GLOBEX-ATTACHMENT-SECRET-qx7"
B_PUBLIC_UPDATE = "Globex public update qx7"
B_INTERNAL_UPDATE = "Globex internal note qx7"
B_MAINTENANCE = "Globex core switch maintenance qx7"
B_PROBLEM = "Globex scanner fault qx7"
B_KNOWN_ERROR = "Globex scanner firmware qx7"
B_TIME_ENTRY = "Globex billable scanner work qx7"
B_SLA_DOCUMENT = "Globex SLA version qx7"
B_SLA_DOCUMENT_BODY = b"%PDF-1.4 GLOBEX-SLA-DOCUMENT-SECRET-qx7"
B_BUNDLE = "Globex strippenkaart qx7"

# The literal path segment before a `pk`/`id`/`object_id` keyword says which object it names.
OBJECT_BY_SEGMENT = {
    "tickets": "ticket",
    "memberships": "membership",
    "notifications": "notification",
    "tokens": "api_token",
    "ticket": "ticket",
    "attachments": "attachment",
    "attachment": "attachment",
    "updates": "update",
    "update": "update",
    "organizations": "organization",
    "organisations": "organization",
    "organization": "organization",
    "user": "user",
    "users": "user",
    "service": "service",
    "services": "service",
    "location": "location",
    "locations": "location",
    "maintenance": "maintenance_notice",
    "subscriptions": "maintenance_subscription",
    "r": "ticket",  # admin "view on site": r/<content_type_id>/<object_id>/ (a ticket's type)
    "intake": "inbound_message",  # intake/<pk>/…: a held e-mail (staff only, POST only)
    "webhooks": "webhook_endpoint",
    "problems": "problem",  # api/v1/problems/<pk>/: the problem ticket's id (staff only)
    "errors": "known_error",  # api/v1/known-errors/<pk>/
    "entries": "time_entry",  # api/v1/time-entries/<pk>/
    "documents": "sla_document",  # sla/documents/<pk>/…, api/v1/sla-documents/<pk>/…
    "bundles": "bundle",  # api/v1/bundles/<pk>/
    "reports": "monthly_report",  # sla/reports/<pk>/report.pdf|.csv
    "exports": "export",  # exports/<pk>/…: a background export of a ticket list (its owner's)
}
# Routes that exist for provider staff only: their positive control is an agent (organisation
# B's own customers get 404 there too, as everybody who is not staff).
STAFF_ONLY_ROUTES = {"api-problem-detail", "api-problem-link"}
# The admin site turns away everybody without is_staff before it looks up an object, so an admin
# route's object needs no exact match: the globex ticket's id stands in for any admin model.
ADMIN_OBJECT = "ticket"

# Keyword -> how to fill it. "object" keywords look at the segment before them.
# Each entry: (kind, tenant) where tenant=True means the value names an object of organisation B.
KWARG_VALUES = {
    "pk": ("object", True),
    "id": ("object", True),
    "object_id": ("object", True),
    "ticket_pk": ("ticket", True),
    "ticket_id": ("ticket", True),
    "number": ("number", True),
    "ticket_number": ("number", True),
    "attachment_pk": ("attachment", True),
    "attachment_id": ("attachment", True),
    "update_pk": ("update", True),
    "update_id": ("update", True),
    "organization": ("organization", True),
    "organization_id": ("organization", True),
    "org_id": ("organization", True),
    "slug": ("organization_slug", True),
    "organization_slug": ("organization_slug", True),
    "content_type_id": ("ticket_content_type", True),
    "link_id": ("ticket_link", True),
    # Not tenant objects:
    "format": ("literal:json", False),
    "what": ("literal:test", False),
    "app_label": ("literal:tickets", False),
    "url": ("literal:no-such-admin-page/", False),
    "uidb64": ("uidb64", False),
    "token": ("literal:set-password", False),
    "month": ("literal:2026-03", False),  # billing/<organization>/<month>/…: YYYY-MM
}


@dataclass
class Route:
    regex: str
    pattern: URLPattern
    name: str | None
    kwargs: tuple[str, ...]
    converters: dict

    def __str__(self):
        return f"{self.name or '<unnamed>'} {self.regex}"


def iter_routes(patterns=None, prefix="", namespace="", converters=None):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        part = entry.pattern.regex.pattern.removeprefix("^")
        convs = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from iter_routes(entry.url_patterns, prefix + part, ns, convs)
        else:
            regex = prefix + part
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            kwargs = tuple(re.compile(regex).groupindex)
            yield Route(regex, entry, name, kwargs, convs)


def skip_reason(route):
    for pattern, reason in SKIP.items():
        if re.search(pattern, route.regex):
            return reason
    return None


def is_admin(route):
    return route.regex.startswith("admin/") and (route.name or "admin:").startswith("admin:")


def segment_before(route, kwarg):
    before = route.regex[: route.regex.index(f"(?P<{kwarg}>")]
    before = re.sub(r"\(\?P<\w+>[^)]*\)", "", before)  # drop earlier groups
    words = re.findall(r"[A-Za-z_]+", before)
    return words[-1] if words else ""


def build_url(route, objects):
    """The URL that reaches `route` with its keywords aimed at organisation B."""
    values, tenant = {}, False
    for kwarg in route.kwargs:
        if kwarg not in KWARG_VALUES:
            pytest.fail(
                f"The tenant sweep cannot fill <{kwarg}> in {route}. Add it to KWARG_VALUES in "
                f"tests/test_tenant_sweep.py so the new route is swept."
            )
        kind, is_tenant = KWARG_VALUES[kwarg]
        tenant |= is_tenant
        if kind == "object":
            segment = segment_before(route, kwarg)
            if segment not in OBJECT_BY_SEGMENT and is_admin(route):
                segment = ADMIN_OBJECT
            elif segment not in OBJECT_BY_SEGMENT:
                pytest.fail(
                    f"The tenant sweep cannot tell which object <{kwarg}> names in {route} "
                    f"(segment {segment!r}). Add it to OBJECT_BY_SEGMENT."
                )
            kind = OBJECT_BY_SEGMENT[segment]
        values[kwarg] = (
            kind.removeprefix("literal:") if kind.startswith("literal:") else objects[kind]
        )
    candidates = [fmt for fmt, params in normalize(route.regex) if set(params) == set(values)]
    if not candidates:
        pytest.fail(f"The tenant sweep cannot build a URL for {route}")
    url = "/" + candidates[0] % {
        k: route.converters[k].to_url(v) if k in route.converters else str(v)
        for k, v in values.items()
    }
    match = resolve(url.split("?")[0])
    if match.func != route.pattern.callback or {k: str(v) for k, v in match.kwargs.items()} != {
        k: str(v) for k, v in values.items()
    }:
        pytest.fail(f"{url} does not reach {route} (it reaches {match.route})")
    return url, tenant


def _globex_notification(user):
    """An in-app notification of organisation B (the bell, and its API)."""
    from escalation.models import Channel, Notification
    from escalation.outbox import notify

    found = Notification.objects.filter(recipient=user, channel=Channel.IN_APP).first()
    if found is None:
        found, _created = notify(
            user, Channel.IN_APP, ticket=None, trigger="sweep", template="receipt"
        )
    return found.pk


@pytest.fixture
def org_b(users, globex, make_ticket):
    """A globex ticket with every kind of child, and an acme ticket (so lists are not empty)."""
    acme_own = make_ticket("acme.user", title="Acme own ticket")
    make_ticket("acme.contact", title="Acme colleague ticket")
    ticket = make_ticket("globex.user", title=B_TITLE, service=globex.services.first())
    attachment = services.add_attachment(
        ticket,
        users["globex.user"],
        SimpleUploadedFile(B_ATTACHMENT_NAME, B_ATTACHMENT_BODY, "application/pdf"),
    )
    update = services.add_update(ticket, users["agent"], B_PUBLIC_UPDATE)
    services.add_update(ticket, users["agent"], B_INTERNAL_UPDATE, visibility="internal")
    # Watchers widen a customer user's "own tickets" (issue 12) inside the one scope: a watch
    # row that crosses tenants (forged: the services refuse it) must still reveal nothing, and
    # org B's own watcher is no marker leak either.
    watch_forged_and_real(ticket, users)
    objects = {
        "ticket": ticket.pk,
        "number": ticket.number,
        "attachment": attachment.pk,
        "update": update.pk,
        "organization": globex.pk,
        "organization_slug": globex.slug,
        "user": users["globex.user"].pk,
        "service": globex.services.first().pk,
        "location": globex.locations.first().pk,
        "ticket_content_type": ContentType.objects.get_for_model(Ticket).pk,
        "membership": users["globex.user"].membership.pk,
        "notification": _globex_notification(users["globex.contact"]),  # the owner below
        "api_token": create_token(users["globex.user"], "globex integration")[0].pk,
        "uidb64": urlsafe_base64_encode(force_bytes(users["globex.user"].pk)),
        **maintenance_objects(users, globex),
        "inbound_message": held_email_from_b(),
        "webhook_endpoint": webhook_endpoint_of_b(globex),
        "ticket_link": link_across(ticket, acme_own, users),
        **problem_objects(users, globex, ticket),
        "bundle": bundle_of_b(users, globex),  # before the entry: the entry draws from it
        "time_entry": time_entry_of_b(users, ticket),
        "sla_document": sla_document_of_b(users, globex),
        "monthly_report": monthly_report_of_b(globex),  # after the contract and the ticket
        "export": export_of_b(users),
    }
    markers = [
        B_TIME_ENTRY,
        B_BUNDLE,
        B_SLA_DOCUMENT,
        B_SLA_DOCUMENT_BODY.decode(),
        B_PROBLEM,
        B_KNOWN_ERROR,
        B_MAINTENANCE,
        ticket.number,
        B_TITLE,
        globex.name,
        B_ATTACHMENT_NAME,
        B_ATTACHMENT_BODY.decode(),
        B_PUBLIC_UPDATE,
        B_INTERNAL_UPDATE,
        "globex.user",
        "globex.contact",
    ]
    return ticket, objects, markers


def watch_forged_and_real(ticket, users):
    from tickets import participation
    from tickets.models import TicketWatcher

    participation.add_watcher(ticket, users["globex.user"], users["globex.contact"])
    for username in SWEEP_USERS:
        TicketWatcher.objects.create(
            ticket=ticket, user=users[username], added_at=ticket.reported_at
        )


def maintenance_objects(users, globex):
    """A globex maintenance notice and globex.contact's subscription (maintenance app)."""
    from datetime import timedelta

    from django.utils import timezone

    from maintenance import services as maintenance

    start = timezone.now() + timedelta(days=1)
    notice = maintenance.create_notice(
        users["agent"],
        kind="emergency",
        title=B_MAINTENANCE,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        organizations=[globex],
        services=[globex.services.first()],
    )
    subscription, _ = maintenance.subscribe(users["globex.contact"], globex)
    return {"maintenance_notice": notice.pk, "maintenance_subscription": subscription.pk}


def link_across(ticket, acme_ticket, users):
    """A link from the globex ticket to an acme one (tickets.links): staff see it on both, the
    acme customers never see the globex side (its number and title are markers)."""
    from tickets import links

    return links.add_link(ticket, users["agent"], acme_ticket, "caused_by")[0].pk


def problem_objects(users, globex, ticket):
    """A problem raised from the globex ticket and its known error, published to globex
    (problems app): the problem is staff only, the known error globex's customers read."""
    from problems import services as problems

    problem = problems.raise_problem(
        users["agent"], title=B_PROBLEM, description=B_PROBLEM, incidents=[ticket]
    )
    known_error = problems.save_known_error(
        problem, users["agent"], title=B_KNOWN_ERROR, workaround=B_KNOWN_ERROR,
        published_to=[globex],
    )  # fmt: skip
    return {"problem": problem.ticket_id, "known_error": known_error.pk}


def bundle_of_b(users, globex):
    """A prepaid hour bundle of globex (billing app): globex's authorised contact reads it and
    its draws (the time entry below)."""
    import datetime as dt

    from billing import bundles
    from billing.models import YearRate

    YearRate.objects.get_or_create(year=2026, defaults={"hourly_rate": 100, "bundle_rate": 90})
    return bundles.purchase(
        globex, users["csm"], hours=50, purchased_on=dt.date(2026, 1, 2), note=B_BUNDLE
    ).pk


def time_entry_of_b(users, ticket):
    """Billable time on the globex ticket (billing app): globex's customers read it."""
    import datetime as dt

    from billing import services as billing

    return billing.add_entry(
        ticket, users["agent"],
        {"user": users["agent"], "worked_on": dt.date(2026, 3, 2), "minutes": 30,
         "description": B_TIME_ENTRY, "category": "consultancy"},
    ).pk  # fmt: skip


def sla_document_of_b(users, globex):
    """A version of globex's SLA document (sla app): globex's authorised contact reads it."""
    import datetime as dt

    from django.utils import timezone

    from sla import documents
    from sla.models import Contract, SlaPolicy

    contract = Contract.objects.create(
        organization=globex,
        policy=SlaPolicy.objects.get(name="Standaard SLA"),
        valid_from=dt.date(2020, 1, 1),
    )
    return documents.register_version(
        contract,
        users["admin"],
        number="2.1",
        date=timezone.localdate(),
        description=B_SLA_DOCUMENT,
        document=SimpleUploadedFile("globex-sla-qx7.pdf", B_SLA_DOCUMENT_BODY),
        effective_from=timezone.localdate() + dt.timedelta(days=200),
    ).pk


def monthly_report_of_b(globex):
    """Globex's monthly SLA report of last month (sla app): its authorised contact downloads
    the PDF and CSV, which name the organisation (a marker)."""
    from django.utils import timezone

    from sla import monthly, monthly_reports

    month = monthly.previous_month(timezone.localdate())
    return monthly_reports.generate(globex, month).pk


def export_of_b(users):
    """A finished export of globex's ticket list (tickets.exports): only its owner, globex's
    authorised contact, sees it and downloads its file (which holds B's ticket)."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from tickets.models import Export, ExportStatus

    export = Export.objects.create(
        owner=users["globex.contact"],
        list="tickets",
        query="state=all",
        format="csv",
        language="en",
        status=ExportStatus.DONE,
        rows_done=1,
        rows_total=1,
        expires_at=timezone.now() + timedelta(days=7),
    )
    export.file.save("tickets.csv", ContentFile(f"Number;Title\r\nX;{B_TITLE}\r\n".encode()))
    return export.pk


def webhook_endpoint_of_b(globex):
    """A globex webhook endpoint (escalation app): its authorised contact manages it."""
    from escalation.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(organization=globex, url="https://globex.example/hook").pk


def held_email_from_b():
    """A held e-mail carrying organisation B's markers (intake app): triage is staff only."""
    from intake.models import InboundMessage, InboundStatus

    return InboundMessage.objects.create(
        from_address="globex.user@example.com",
        subject=B_TITLE,
        body=B_PUBLIC_UPDATE,
        digest="0" * 64,
        status=InboundStatus.HELD,
    ).pk


def snapshot(ticket):
    return {
        "ticket": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "updates": TicketUpdate.objects.filter(ticket=ticket).count(),
        "attachments": Attachment.objects.filter(ticket=ticket).count(),
        "audit": AuditEntry.objects.filter(ticket=ticket).count(),
        "priority": PriorityChange.objects.filter(ticket=ticket).count(),
    }


def body_of(response):
    # Reading a streamed body to the end closes it (the test client's wrapper). No explicit
    # response.close(): that fires request_finished, which on PostgreSQL closes the connection
    # that holds the test's transaction.
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    return body.decode("utf-8", "replace")


def leaks(response, markers, url):
    """The markers of organisation B in the response. A marker the request itself carried (the
    ticket number in the URL, echoed in a form or a language switcher) is no leak."""
    text = (body_of(response) + " " + response.get("Content-Disposition", "")).lower()
    sent = unquote(url).lower()
    return [m for m in markers if m.lower() in text and m.lower() not in sent]


def is_login_redirect(response):
    if response.status_code not in (301, 302):
        return False
    location = response["Location"]
    return location.startswith((reverse("login"), reverse("admin:login")))


POST_DATA = {
    "status": "closed",
    "title": "Hijacked",
    "description": "Hijacked",
    "body": "Hijacked",
    "priority": "1",
    "reason": "Hijacked",
    "assignee": "1",
}


def sweep_routes():
    routes, skipped, seen = [], [], set()
    for route in iter_routes():
        if route.regex in seen:
            continue  # shadowed by an earlier, identical pattern: unreachable
        seen.add(route.regex)
        reason = skip_reason(route)
        (skipped if reason else routes).append(route)
    return routes, skipped


def test_every_route_can_be_filled(org_b):
    """Fails loudly when a route has a keyword the sweep does not know."""
    _, objects, _ = org_b
    routes, _ = sweep_routes()
    built = [build_url(route, objects) for route in routes]
    tenant_urls = [url for url, tenant in built if tenant]
    assert len(tenant_urls) >= 10
    names = {route.name for route in routes}
    # The routes that matter most are really swept.
    assert {"api-ticket-detail", "api-ticket-transition", "attachment-download"} <= names


@pytest.mark.parametrize("username", SWEEP_USERS)
def test_no_route_leaks_another_organisation(users, org_b, username):
    ticket, objects, markers = org_b
    assert not users[username].is_staff  # the premise of the admin routes' answers
    before = snapshot(ticket)
    routes, _ = sweep_routes()
    client = Client()
    client.force_login(users[username])
    owner = Client()
    owner.force_login(users["globex.contact"])
    staff = Client()
    staff.force_login(users["agent"])
    problems = []
    swept = 0

    for route in routes:
        url, tenant = build_url(route, objects)
        methods = ["get", "post", "patch"] if tenant else ["get"]
        for method in methods:
            try:
                response = getattr(client, method)(url, POST_DATA if method == "post" else None)
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                problems.append(f"{method.upper()} {url}: raised {exc!r}")
                continue
            swept += 1
            found = leaks(response, markers, url)
            if found:
                problems.append(f"{method.upper()} {url}: {response.status_code} shows {found}")
            status = response.status_code
            if status >= 500:
                problems.append(f"{method.upper()} {url}: server error {status}")
            elif tenant and not (status in (404, 405) or is_login_redirect(response)):
                problems.append(f"{method.upper()} {url}: {status}, expected 404")
        if tenant:
            # Positive control: the owner's organisation does reach the object, so the 404
            # above is the tenant scope at work, not a URL that points nowhere.
            response = (staff if route.name in STAFF_ONLY_ROUTES else owner).get(url)
            body_of(response)
            if response.status_code == 404:
                problems.append(f"GET {url}: 404 even for org B itself; the sweep proves nothing")

    assert not problems, "\n".join(problems)
    assert swept > 40
    assert snapshot(ticket) == before, "a request of organisation A changed organisation B's data"


@pytest.mark.parametrize("username", SWEEP_USERS)
def test_lists_never_show_another_organisations_tickets(users, globex, org_b, username):
    ticket, _, markers = org_b
    client = Client()
    client.force_login(users[username])
    api_lists = [
        "/api/v1/tickets/",
        "/api/v1/tickets/?page_size=100",
        f"/api/v1/tickets/?search={ticket.number}",
        f"/api/v1/tickets/?organization={globex.pk}",
        f"/api/v1/tickets/?status={ticket.status}",
    ]
    for url in api_lists:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["count"] == len(response.json()["results"]) >= 0
        assert ticket.number not in [r["number"] for r in response.json()["results"]], url
        assert not leaks(response, markers, url), url
    own = client.get("/api/v1/tickets/").json()["results"]
    assert own, "the customer's own tickets are listed"

    html_lists = [reverse("ticket-list")] + [
        f"{reverse('ticket-list')}?{param}={value}"
        for param, value in (
            ("q", ticket.number),
            ("search", ticket.number),
            ("organization", globex.pk),
            ("status", ticket.status),
        )
    ]
    for url in html_lists:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not leaks(response, markers, url), url
    # The staff queue is not there for customers at all.
    assert client.get(reverse("queue")).status_code in (403, 404)


def test_staff_list_does_show_both_organisations(users, org_b):
    """The control for the test above: the same list, as an agent, has the globex ticket."""
    ticket, _, _ = org_b
    client = Client()
    client.force_login(users["agent"])
    assert ticket.number in body_of(client.get("/api/v1/tickets/?page_size=100"))
    assert ticket.number in body_of(client.get(reverse("ticket-list")))


# --- the safety net ---------------------------------------------------------------------------


def problem_numbers(organization):
    return list(
        Ticket.objects.filter(organization=organization, kind="problem").values_list(
            "number", flat=True
        )
    )


def _in_fresh_context(fn):
    """Run outside the autouse scopes_disabled() of tests/conftest.py."""
    return contextvars.Context().run(fn)


def test_ticket_queries_outside_a_scope_raise(org_b):
    def query():
        with pytest.raises(ScopeError):
            list(Ticket.objects.all())
        with pytest.raises(ScopeError):
            Ticket.objects.filter(title=B_TITLE).count()
        with pytest.raises(ScopeError):
            list(TicketUpdate.objects.all())
        with pytest.raises(ScopeError):
            list(Attachment.objects.all())
        with pytest.raises(ScopeError):
            list(AuditEntry.objects.all())
        return True

    assert _in_fresh_context(query)


def test_writing_a_row_needs_no_scope(org_b):
    """create() and bulk_create() read nothing: django-scopes' filter is not built for them
    (tickets.models.WritesUnscoped), while every read above still needs a scope."""
    ticket = Ticket.objects.get(title=B_TITLE)

    def write():
        entry = AuditEntry.objects.create(
            ticket=ticket,
            at=ticket.reported_at,
            action="noted",
            object_type="ticket",
            object_id=ticket.pk,
        )
        with pytest.raises(ScopeError):
            AuditEntry.objects.get(pk=entry.pk)
        return entry

    entry = _in_fresh_context(write)
    assert AuditEntry.objects.get(pk=entry.pk).ticket == ticket


def test_a_scope_limits_queries_to_its_organisation(acme, globex, org_b):
    ticket, _, _ = org_b

    def query():
        with scope(organization=acme.pk):
            acme_titles = set(Ticket.objects.values_list("title", flat=True))
            acme_updates = list(TicketUpdate.objects.values_list("body", flat=True))
        with scope(organization=globex.pk):
            globex_numbers = list(Ticket.objects.values_list("number", flat=True))
        with scopes_disabled():
            everything = Ticket.objects.count()
        return acme_titles, acme_updates, globex_numbers, everything

    acme_titles, acme_updates, globex_numbers, everything = _in_fresh_context(query)
    assert acme_titles == {"Acme own ticket", "Acme colleague ticket"}
    assert acme_updates == []
    # The problem raised from the globex ticket is filed under globex too: the scope is the
    # organisation; visible_to() is what keeps problems from customers.
    assert sorted(globex_numbers) == sorted([ticket.number, *problem_numbers(globex)])
    assert everything == 4
