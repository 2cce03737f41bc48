import datetime as dt

import pytest

from sla.models import Contract, ServiceWindow, SlaPolicy


@pytest.fixture
def policy(db):
    return SlaPolicy.objects.get(name="Standaard SLA")  # created by the data migration


@pytest.fixture
def contracts(policy, acme, globex):
    """Acme on office hours, Globex on 24/7 (DESIGN §5 demo contracts)."""
    start = dt.date(2020, 1, 1)
    return {
        "acme": Contract.objects.create(
            organization=acme,
            policy=policy,
            service_window=ServiceWindow.OFFICE_HOURS,
            valid_from=start,
        ),
        "globex": Contract.objects.create(
            organization=globex,
            policy=policy,
            service_window=ServiceWindow.ALWAYS,
            valid_from=start,
        ),
    }
