"""Problem management in a real browser (headless Debian Chromium): a customer typing a new
incident's title sees the published known error that matches (htmx on the page's own URL) and
follows it; the agent links a suggested known error to an incident in one click."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from pim.models import Role
from problems import services as problems
from problems.models import KnownErrorFollower, ProblemIncident
from tests.conftest import make_user
from tests.e2e.test_incident_flow import login
from tickets import services as ticket_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_customer_sees_and_follows_a_known_error_agent_links_one(page, shot, acme, live_server):
    customer = make_user("acme.user", Role.CUSTOMER_USER, acme, language="nl")
    agent = make_user("agent", Role.AGENT, language="nl")
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    telefonie = acme.services.first()
    first = ticket_services.create_ticket(
        actor=customer, title="Gesprek valt weg bij doorverbinden", description="Al twee keer.",
        service=telefonie,
    )  # fmt: skip
    problem = problems.raise_problem(
        agent, title="Doorverbinden faalt", description="Zie incidenten.", incidents=[first]
    )
    known_error = problems.save_known_error(
        problem, agent, title="Doorverbonden gesprek valt weg",
        symptoms="Het gesprek valt weg zodra het wordt doorverbonden.",
        workaround="Verbind door via de operatorconsole.",
        services=[telefonie], published_to=[acme],
    )  # fmt: skip

    # the customer types a title: the matching known error appears with its workaround
    login(page, "acme.user")
    page.goto("/tickets/new/")
    page.fill("input[name=title]", "gesprek valt weg na doorverbinden")
    hint = page.locator(f"#known-error-hint-{known_error.pk}")
    hint.wait_for()
    assert "operatorconsole" in hint.inner_text()
    shot(page, "problem-01-customer-sees-known-error")
    page.click(f"#follow-known-error-{known_error.pk}")
    page.locator(f"#known-error-hint-{known_error.pk}:not(:has(button))").wait_for()
    assert KnownErrorFollower.objects.filter(known_error=known_error, user=customer).exists()

    # a new incident on the same service: the agent sees the known error and links it
    second = ticket_services.create_ticket(
        actor=customer, title="Doorverbinden: gesprek valt weg", description="Weer.",
        service=telefonie,
    )  # fmt: skip
    own = page.context.browser.new_context(base_url=live_server.url, locale="nl-NL")
    desk = own.new_page()
    login(desk, "agent", device)
    desk.goto(f"/tickets/{second.number}/")
    desk.click(f"#link-known-error-{known_error.pk}")
    desk.wait_for_url(re.compile(rf"/tickets/{second.number}/$"))
    assert problem.ticket.number in desk.locator("#incident-problems").inner_text()
    shot(desk, "problem-02-agent-linked")
    assert ProblemIncident.objects.filter(problem=problem, incident=second).exists()
    own.close()
