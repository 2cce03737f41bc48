import datetime as dt

import pytest

from billing import services
from billing.models import Category, YearRate


@pytest.fixture
def rates(db):
    """2025 and 2026 rates (a rate change between the years)."""
    return {
        2025: YearRate.objects.create(
            year=2025, hourly_rate="95.00", bundle_rate="85.00", vat_rate="21.00"
        ),
        2026: YearRate.objects.create(
            year=2026, hourly_rate="102.50", bundle_rate="90.00", vat_rate="21.00"
        ),
    }


@pytest.fixture
def add_time(users):
    def _add(ticket, day, minutes=30, category=Category.CONSULTANCY, description="Work"):
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        return services.add_entry(
            ticket,
            users["agent"],
            {
                "user": users["agent"],
                "worked_on": day,
                "minutes": minutes,
                "description": description,
                "category": category,
            },
        )

    return _add
