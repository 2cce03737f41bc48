"""Problem management's periodic work (Celery beat, pim/settings.py)."""

from celery import shared_task
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from escalation.models import Channel
from escalation.outbox import notify
from pim.models import MANAGER_ROLES, User

from . import reports

REPORT_TEMPLATE = "problem_report"
REPORT_ROWS = 50  # problems listed in the mail; the page has them all


def report_rows(report):
    """What the mail lists, frozen when the month's report is written (the text is worded in
    each manager's language at delivery)."""
    return [
        {
            "number": row.ticket.number,
            "title": row.ticket.title,
            "priority": row.ticket.priority,
            "age": row.age_days,
            "incidents": row.incident_count,
            "known_errors": len(row.known_errors),
            "workaround": row.has_workaround,
        }
        for row in report.rows[:REPORT_ROWS]
    ]


@shared_task
def mail_open_problem_report(now=None):
    """The monthly open-problem report (SPEC §7) to every active provider manager, by e-mail
    and in the portal: once per manager and month, however often the task runs (the outbox's
    dedup key holds the month). Returns how many notifications were written now."""
    now = now or timezone.now()
    month = timezone.localtime(now).strftime("%Y-%m")
    with scopes_disabled():
        report = reports.open_problems(now)
        context = {
            "month": month,
            "url": reverse("problem-report"),
            "total": report.total,
            "by_priority": [[int(p), n] for p, n in report.by_priority],
            "rows": report_rows(report),
        }
        managers = User.objects.filter(
            is_active=True, membership__role__in=sorted(MANAGER_ROLES)
        ).order_by("pk")
        written = 0
        for manager in managers:
            for channel in (Channel.EMAIL, Channel.IN_APP):
                _, created = notify(
                    manager,
                    channel,
                    ticket=None,
                    trigger=f"open_problems:{month}",
                    template=REPORT_TEMPLATE,
                    context=context,
                    now=now,
                )
                written += created
    return written
