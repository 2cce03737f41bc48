"""Schemathesis over every operation of the live OpenAPI schema, as a customer and as an agent:
no server errors, and every response conforms to the schema (status, content type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pim.auth import create_token

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _load_schema():
    from pim.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()


@pytest.fixture(autouse=True)
def _data(db, users, make_ticket, settings):
    """A few tickets in both organisations, with escalations in the states whose fields are
    null (raised by the system, not acknowledged) and not (raised by a contact, acknowledged),
    so the responses are checked against the schema with both; throttles out of the way."""
    from django.utils import timezone

    from escalation.models import Escalation

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    acme = make_ticket("acme.user")
    make_ticket("globex.user")
    now = timezone.now()
    Escalation.objects.create(ticket=acme, level="low", trigger="response_breached", raised_at=now)
    Escalation.objects.create(
        ticket=acme,
        level="middle",
        trigger="customer",
        reason="Nobody called back",
        raised_by=users["acme.contact"],
        raised_at=now,
        acknowledged_by=users["csm"],
        acknowledged_at=now,
    )


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calls through WSGI start and end with signals that close old connections: on
    PostgreSQL that is the connection holding the test's transaction. Django's test client
    disconnects the same handler."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _header(user):
    _token, key = create_token(user, "schemathesis")
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def customer(users):
    return _header(users["acme.user"])


@pytest.fixture
def agent(users):
    return _header(users["agent"])


FUZZ = settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@FUZZ
def test_api_as_customer(case, customer):
    case.call_and_validate(headers=customer, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_as_agent(case, agent):
    case.call_and_validate(headers=agent, checks=CHECKS)
