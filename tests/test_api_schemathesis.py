"""Schemathesis over every operation of the live OpenAPI schema, as a customer and as an agent:
no server errors, and every response conforms to the schema (status, content type, body)."""

import pytest
import schemathesis
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
    """A few tickets in both organisations; throttles out of the fuzzer's way."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    make_ticket("acme.user")
    make_ticket("globex.user")


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
    max_examples=8,
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
