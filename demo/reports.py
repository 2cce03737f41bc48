"""The demo's monthly SLA reports (issue 17): last month's report of every organisation with a
contract, as the first working day's task makes them, so the reports page has something to open.
The demo's history is the past: the reports count as mailed, and `make run`'s worker mails
nothing for them."""

from django.utils import timezone

from sla import monthly, monthly_reports
from sla.models import MonthlyReport


def seed_reports(now) -> int:
    """Last month's report of each contracted organisation that has none yet; how many."""
    month = monthly.previous_month(timezone.localtime(now).date())
    made = 0
    for organization in monthly_reports.organizations_for(month):
        if MonthlyReport.objects.filter(organization=organization, month=month).exists():
            continue
        report = monthly_reports.generate(organization, month, now=now)
        MonthlyReport.objects.filter(pk=report.pk).update(mailed_at=now)
        made += 1
    return made
