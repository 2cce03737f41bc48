from decimal import Decimal

import pytest
from django.db import IntegrityError

from billing.models import YearRate

pytestmark = pytest.mark.django_db


def test_the_rates_of_a_year_hold_until_the_admin_enters_new_ones():
    assert YearRate.for_year(2026) is None
    YearRate.objects.create(year=2024, hourly_rate="95.00", bundle_rate="85.00")
    YearRate.objects.create(year=2026, hourly_rate="105.50", bundle_rate="92.25")
    assert YearRate.for_year(2023) is None
    assert YearRate.for_year(2025).year == 2024
    rate = YearRate.for_year(2027)
    assert (rate.year, rate.hourly_rate, rate.bundle_rate) == (
        2026,
        Decimal("105.50"),
        Decimal("92.25"),
    )
    assert rate.vat_rate == Decimal("21")


def test_a_year_has_one_set_of_rates():
    YearRate.objects.create(year=2026, hourly_rate="1", bundle_rate="1")
    with pytest.raises(IntegrityError):
        YearRate.objects.create(year=2026, hourly_rate="2", bundle_rate="2")
