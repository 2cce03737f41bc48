"""The maintenance part of the monthly SLA report (issue 17 item 3, `sla.monthly`): the notices
concerning an organisation (naming it, or all organisations) whose window, as it happened where
recorded, else as planned, lies in the month and had begun by the time of the report; cancelled
notices never."""

from django.db.models import Q

from sla import monthly

from .models import Kind, MaintenanceNotice, Status


def report_maintenance(organization, start, end, now):
    """One query."""
    notices = (
        MaintenanceNotice.objects.for_organization(organization.pk)
        .exclude(status=Status.CANCELLED)
        .filter(
            Q(started_at__isnull=False, started_at__lt=end)
            | Q(started_at__isnull=True, starts_at__lt=end)
        )
        .filter(
            Q(completed_at__isnull=False, completed_at__gt=start)
            | Q(completed_at__isnull=True, ends_at__gt=start)
        )
        .order_by("starts_at", "pk")
    )
    rows = []
    for notice in notices:
        window = notice.actual_window
        if window is None or window[0] >= min(end, now) or window[1] <= start:
            continue
        rows.append(
            monthly.MaintenanceDone(
                title=notice.title,
                kind_label=str(Kind(notice.kind).label),
                status_label=str(Status(notice.status).label),
                starts_at=window[0],
                ends_at=window[1],
            )
        )
    return rows


def install_report_source():
    monthly.register_source("maintenance", report_maintenance)
