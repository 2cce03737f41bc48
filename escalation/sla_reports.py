"""The monthly SLA report's mail (issue 17 item 3): when sla made an organisation's report of a
month (`sla.signals.monthly_report_ready`), its active authorised contacts and the provider's
active managers are told once per (organisation, month, person, channel), by e-mail with the
PDF attached and in the bell (leading to the list of reports)."""

from django.db.models import Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils.translation import gettext as _

from pim.models import MANAGER_ROLES, Role, User
from sla import monthly
from sla import signals as sla_signals
from sla.models import MonthlyReport

from . import delivery
from .models import CUSTOMER_TRIGGER, Escalation, Level
from .outbox import notify_all

TEMPLATE = "sla_report"


def recipients(report):
    people = Q(
        membership__role=Role.AUTHORISED_CONTACT,
        membership__organization_id=report.organization_id,
    ) | Q(membership__role__in=sorted(MANAGER_ROLES))
    return User.objects.filter(people, is_active=True).order_by("pk")


@receiver(sla_signals.monthly_report_ready, dispatch_uid="escalation.sla_report")
def monthly_report_ready(sender, report, now=None, **kwargs):
    month = f"{report.month:%Y-%m}"
    notify_all(
        recipients(report),
        ticket=None,
        trigger=f"sla_report:{report.organization_id}:{month}",
        template=TEMPLATE,
        context={
            "report": report.pk,
            "organization": report.organization.name,
            "month": month,
            "url": reverse("sla-reports"),
        },
        now=now,
    )


def message_for(notification):
    context = notification.context or {}
    params = {"organization": context.get("organization", ""), "month": context.get("month", "")}
    subject = _("Monthly SLA report %(month)s of %(organization)s") % params
    body = (
        _(
            "The SLA report of %(organization)s for %(month)s is ready: compliance per priority "
            "and target, the breaches, availability per service, maintenance, open problems and "
            "escalations. The PDF is attached; the portal keeps it with its CSV under SLA "
            "reports."
        )
        % params
    )
    return subject, body, {}


def render_email(notification):
    """The e-mail in the recipient's language, with the report's PDF attached (as it was
    generated, in the organisation's contacts' language)."""
    message = delivery.compose_email(notification, message_for)
    pk = (notification.context or {}).get("report")
    report = MonthlyReport.objects.filter(pk=pk).first() if isinstance(pk, int) else None
    if report is not None and report.pdf:
        with report.pdf.open("rb") as pdf:
            message.attach(f"sla-report-{report.month:%Y-%m}.pdf", pdf.read(), "application/pdf")
    return message


def install_renderer():
    delivery.register_renderer(TEMPLATE, message_for, render_email)


def report_escalations(organization, start, end, now):
    """The monthly report's escalations: those the organisation raised in [start, end) (the
    internal matrix stays internal, as on the dashboard). One query."""
    rows = (
        Escalation.objects.filter(
            ticket__organization=organization,
            trigger=CUSTOMER_TRIGGER,
            raised_at__gte=start,
            raised_at__lt=end,
        )
        .select_related("ticket")
        .order_by("raised_at", "pk")
    )
    return [
        monthly.EscalationRow(
            number=e.ticket.number,
            level_label=str(Level(e.level).label),
            raised_at=e.raised_at,
            acknowledged_at=e.acknowledged_at,
            closed_at=e.closed_at,
            reason=e.reason,
        )
        for e in rows
    ]


def install_report_source():
    monthly.register_source("escalations", report_escalations)
