"""The page fuzzer (issue 13), beside schemathesis for the API: every URL pattern of the project,
for every role, with hostile path segments and query values, and hostile values posted to every
form of every page the role can open. Nothing may answer a server error.

The routes come from the project's resolver (the tenant sweep's walk), so a new route or a new
form is fuzzed without touching this file. A full product of routes × values × roles × forms
would be slow: the requests are sampled with a fixed seed (random.Random(SEED)), while every
route is requested at least once and every form posted at least once (both asserted).

Every POST runs in a savepoint that is rolled back, so a form that deletes (the admin's delete
pages, revoking a token, logging out) leaves the data and the session for the next request.
"""

import logging
import random
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import resolve
from django.utils.regex_helper import normalize

from tests.test_tenant_sweep import body_of, build_url, sweep_routes
from tests.test_tenant_sweep import org_b as org_b  # a fixture

SEED = 20261303
ADMIN = "http://testserver/admin/"
# The roles that open pages: organisation B's own customers (the sweep's objects are theirs, so
# their pages render with forms), every provider role, and nobody.
ROLES = [
    "globex.user",
    "globex.contact",
    "agent",
    "oncall",
    "csm",
    "opsmanager",
    "director",
    "admin",
    None,  # anonymous
]
# Refused as a whole by the input boundary's middleware, whichever field carries them.
CONTROL = ["\x00", "a\x00b", "\x1b[31m", "\x7f"]
# Everything else reaches the forms, filters and views.
VALUES = [
    "²",
    "-1",
    "0",
    str(10**30),
    "1e300",
    "../",
    "x" * 5000,
    "<script>alert(1)</script>",
    "ünïcødé ✓ 漢字 🙂",
    "\u202eevil",
    "line\r\nbreak",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01",
    "0001-01",
    "abc",
    "",
    "[]",
]
HOSTILE = CONTROL + VALUES
# Query strings: the values a query parameter can carry.
QUERY_VALUES = [
    "²", "-1", str(10**30), "1e300", "../", "x" * 5000, "<script>alert(1)</script>",
    "ünïcødé ✓ 漢字 🙂", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01",
    "abc", "", "[]",
]  # fmt: skip
# The admin's forms are large and slow to render: their sweep takes one value of each kind.
ADMIN_VALUES = ["²", str(10**30), "-1", "x" * 5000, "<script>alert(1)</script>", "0001-01-01"]
# Query names the portal and the API read (added to the names of each page's GET forms).
QUERY_NAMES = [
    "page", "q", "search", "status", "state", "priority", "kind", "organization", "assignee",
    "sort", "dir", "since", "month", "show", "ticket", "level", "open", "reported_after",
    "reported_before", "starts_after", "starts_before", "format", "lang", "page_size",
    "ordering", "next", "sla_state", "o", "p", "e", "_changelist_filters", "_popup", "_to_field",
    "reported", "target", "outcome", "escalation", "wallboard",
]  # fmt: skip
HOSTILE_GETS = 2  # roles that send a random hostile query string to a route (sampled)
HOSTILE_PATHS = 2  # roles that send a hostile path segment to a route with keywords (sampled)
API_ROLES = 3  # roles that open each API route (schemathesis fuzzes the API as two roles)
POSTS_PER_FORM = 1  # posts by each role to each form it sees, one hostile field (sampled)
# A formset's management fields keep their values in a sweep (sampled posts still vary them).
FORMSET_MANAGEMENT = ("-TOTAL_FORMS", "-INITIAL_FORMS", "-MIN_NUM_FORMS", "-MAX_NUM_FORMS")
# Forms not posted, with the reason.
NOT_POSTED = {
    "/accounts/login/": "login attempts are counted (brute force); a hostile one is a 200",
}


@dataclass
class Form:
    action: str
    method: str
    fields: list = field(default_factory=list)  # (name, kind, default, choices)
    multipart: bool = False

    def key(self):
        return (self.method, urlsplit(self.action).path, tuple(sorted(n for n, *_ in self.fields)))


class FormParser(HTMLParser):
    """The forms of a page: action, method and the names, kinds and values of their fields."""

    def __init__(self, base):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.forms = []
        self.current = None
        self.select = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.current = Form(
                action=urljoin(self.base, attrs.get("action") or self.base),
                method=(attrs.get("method") or "get").lower(),
                multipart="multipart" in (attrs.get("enctype") or ""),
            )
            self.forms.append(self.current)
        elif self.current is None or not attrs.get("name"):
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset") and "value" not in attrs:
                return
            self.current.fields.append([attrs["name"], kind, attrs.get("value") or "", []])
        elif tag == "select":
            self.select = [attrs["name"], "select", "", []]
            self.current.fields.append(self.select)
        elif tag == "option" and self.select is not None:
            self.select[3].append(attrs.get("value", ""))
            if "selected" in attrs or not self.select[2]:
                self.select[2] = attrs.get("value", "")
        elif tag == "textarea":
            self.textarea = [attrs["name"], "textarea", "", []]
            self.current.fields.append(self.textarea)
        elif tag == "button" and attrs.get("value") is not None:
            self.current.fields.append([attrs["name"], "button", attrs["value"], []])

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_of(response, url):
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    parser = FormParser("http://testserver" + url)
    parser.feed(body_of(response))
    return parser.forms


def _upload(name):
    return SimpleUploadedFile((name or "x")[:100] + ".txt", b"fuzz", "text/plain")


def sweep_data(form, round_, values=VALUES):
    """Round `round_` of a form's sweep: every field hostile at once, each with another value,
    so that over len(values) rounds every field meets every value."""
    data = {}
    for index, (name, kind, default, _choices) in enumerate(form.fields):
        value = values[(round_ + index) % len(values)]
        if name.endswith(FORMSET_MANAGEMENT):
            value = default  # a huge TOTAL_FORMS only makes Django build its 1,000 forms, slowly
        data[name] = _upload(value) if kind == "file" else value
    return data


def one_hostile_data(form, rng, values=HOSTILE):
    """The form's own values, with one field (chosen at random) hostile."""
    data = {}
    target = rng.randrange(len(form.fields)) if form.fields else None
    for index, (name, kind, default, choices) in enumerate(form.fields):
        hostile = index == target
        if kind == "file":
            data[name] = _upload(rng.choice(values) if hostile else "notes")
            continue
        if kind in ("checkbox", "radio") and not hostile and not default:
            continue
        value = rng.choice(values) if hostile else (default or (choices[-1] if choices else "x"))
        if name in data:  # a multiple select, checkboxes of one name
            previous = data[name] if isinstance(data[name], list) else [data[name]]
            data[name] = [*previous, value]
        else:
            data[name] = value
    return data


def submit(walk, client, form, data):
    target = form.action.removeprefix("http://testserver")
    if form.method == "post":
        walk.send(client, "post", target, data)
    else:
        query = urlencode(
            [(k, v) for k, vs in data.items() if not hasattr(vs, "read")
             for v in (vs if isinstance(vs, list) else [vs])]
        )  # fmt: skip
        walk.send(client, "get", f"{urlsplit(target).path}?{query}")
    walk.posted.add(form.key())


def with_hostile_path(route, objects, rng):
    """`route`'s URL with one keyword replaced by a hostile segment (URL-quoted by the client)."""
    url, _tenant = build_url(route, objects)
    match = resolve(url)
    values = {k: str(v) for k, v in match.kwargs.items()}
    target = rng.choice(route.kwargs)
    values[target] = rng.choice(HOSTILE)
    candidates = [fmt for fmt, params in normalize(route.regex) if set(params) == set(values)]
    return "/" + candidates[0] % {k: quote(v, safe="") for k, v in values.items()}


class Walk:
    def __init__(self, rng):
        self.rng = rng
        self.errors = []
        self.touched = set()  # route regexes a request reached
        self.posted = set()
        self.requests = 0
        self.timing = {}
        self.phase = "plain"

    def send(self, client, method, url, data=None, route=None, **extra):
        self.requests += 1
        began = time.perf_counter()
        label = (method, url.startswith("/admin/"), self.phase)
        if self.phase == "form-sweep" and url.startswith("/admin/"):
            label = (method, re.sub(r"/\d+/", "/N/", urlsplit(url).path), self.phase)
        try:
            if method == "post":
                cookies = SimpleCookie(client.cookies.output(header="", sep="\n"))
                with transaction.atomic():
                    response = client.post(url, data or {}, **extra)
                    transaction.set_rollback(True)
                client.cookies = cookies
            else:
                response = client.get(url, **extra)
            body_of(response)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            self.errors.append(f"{method.upper()} {url[:200]!r}: raised {exc!r}")
            return None
        if response.status_code >= 500:
            self.errors.append(f"{method.upper()} {url[:200]!r}: {response.status_code}")
        if route is not None:
            self.touched.add(route.regex)
        count, seconds = self.timing.get(label, (0, 0.0))
        self.timing[label] = (count + 1, seconds + time.perf_counter() - began)
        return response


def _query(rng, names):
    picked = rng.sample(names, k=min(len(names), rng.randint(1, 4)))
    return urlencode([(name, rng.choice(HOSTILE)) for name in picked])


@pytest.mark.django_db
def test_no_page_answers_a_server_error(users, org_b, settings, caplog, monkeypatch):
    # The test client copies every template context for response.context: not needed here,
    # and most of the time of a large page.
    monkeypatch.setattr("django.test.client.store_rendered_templates", lambda *a, **k: None)
    caplog.set_level(logging.ERROR, logger="django.request")  # thousands of 4xx warnings
    caplog.set_level(logging.CRITICAL, logger="django.security")  # refused admin lookups
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    _ticket, objects, _markers = org_b
    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True  # as seed_demo makes the admin: the Django admin
    admin.save(update_fields=["is_staff", "is_superuser"])
    rng = random.Random(SEED)
    routes, _skipped = sweep_routes()
    walk = Walk(rng)
    started = time.perf_counter()
    route_urls = {route.regex: build_url(route, objects)[0] for route in routes}
    # Which roles send the hostile query strings and path segments of each route.
    hostile_roles = {
        route.regex: (
            set(rng.sample(ROLES, HOSTILE_GETS)),
            set(rng.sample(ROLES, HOSTILE_PATHS)) if route.kwargs else set(),
        )
        for route in routes
    }
    api_roles = {route.regex: set(rng.sample(ROLES, API_ROLES)) for route in routes}

    swept_forms, swept_queries = set(), set()
    for role in ROLES:
        client = Client()
        if role is not None:
            client.force_login(users[role])
        seen_forms = set()
        for route in routes:
            url = route_urls[route.regex]
            is_admin = route.regex.startswith("admin/")
            if is_admin and role not in ("admin", "agent"):
                continue  # the admin turns everybody else away at the door, as it does them
            if url.startswith("/api/") and role not in api_roles[route.regex]:
                continue
            query_roles, path_roles = hostile_roles[route.regex]
            if is_admin:  # the admin's own pages: fuzzed as the admin
                query_roles, path_roles = {"admin"}, ({"admin"} if route.kwargs else set())
            walk.phase = "plain"
            response = walk.send(client, "get", url, route=route)
            if response is None:
                continue
            page_forms = forms_of(response, url)
            names = QUERY_NAMES + [n for f in page_forms if f.method == "get" for n, *_ in f.fields]
            if (
                response.status_code == 200
                and route.regex not in swept_queries
                and not is_admin
                and "format" not in route.kwargs  # the same view as the route without .json
            ):
                # The first role that can read the route sweeps its query names: every name
                # meets every value over the rounds.
                swept_queries.add(route.regex)
                for round_ in range(len(QUERY_VALUES)):
                    query = urlencode(
                        [
                            (n, QUERY_VALUES[(round_ + i) % len(QUERY_VALUES)])
                            for i, n in enumerate(names)
                        ]
                    )
                    walk.phase = "query-sweep"
                    walk.send(client, "get", f"{url}?{query}", route=route)
            if role in query_roles:
                walk.phase = "query"
                walk.send(client, "get", f"{url}?{_query(rng, names)}", route=route)
            if role in path_roles:
                walk.phase = "path"
                walk.send(client, "get", with_hostile_path(route, objects, rng))
            for form in page_forms:
                if form.key() in seen_forms or urlsplit(form.action).path in NOT_POSTED:
                    continue
                seen_forms.add(form.key())
                if form.key() not in swept_forms:
                    swept_forms.add(form.key())
                    values = ADMIN_VALUES if form.action.startswith(ADMIN) else VALUES
                    for round_ in range(len(values)):
                        walk.phase = "form-sweep"
                        submit(walk, client, form, sweep_data(form, round_, values))
                    submit(walk, client, form, one_hostile_data(form, rng, CONTROL))
                for _ in range(POSTS_PER_FORM):
                    walk.phase = "sampled-form"
                    submit(walk, client, form, one_hostile_data(form, rng))

    elapsed = time.perf_counter() - started
    print(f"page fuzzer: {walk.requests} requests, {len(walk.posted)} forms, {elapsed:.1f} s")
    slowest = sorted(walk.timing.items(), key=lambda item: -item[1][1])[:5]
    for label, (count, seconds) in slowest:
        print(f"  {label}: {count} requests, {seconds:.1f} s")
    assert not walk.errors, "\n".join(walk.errors[:50])
    untouched = [str(r) for r in routes if r.regex not in walk.touched]
    assert not untouched, f"routes never requested: {untouched}"
    # The form parser really finds the forms: the ones that matter most were posted.
    posted_paths = {re.sub(r"/[^/]*\d[^/]*/", "/N/", path) for _m, path, _f in walk.posted}
    assert {
        "/tickets/new/",
        "/tickets/N/update/",
        "/tickets/N/transition/",
        "/maintenance/new/",
        "/account/tokens/",
        "/admin/pim/organization/add/",
        "/queue/",
    } <= posted_paths, sorted(posted_paths)
