"""The SLA document's versions (SPEC §11, issue 18 item 5, first slice): the notice rule, the PDF
check, registering a version and announcing it.

A version is announced when it is registered (`announced_at`), to the organisation's authorised
contacts, once: `sla_document_announced` is sent and escalation writes the outbox rows (their
dedup key makes a second announcement a no-op). It must be announced at least NOTICE_MONTHS
calendar months before it takes effect; a shorter notice is refused (400 in the API, a form error
in the admin). Which version is in force, the Major Change route and the reminders are in
`sla/majorchange.py`.
"""

import calendar
from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from pim import uploads
from pim.scoping import organization_filter
from tickets.models import Kind, Priority
from tickets.services import create_ticket

from .models import SlaDocumentStep, SlaDocumentVersion
from .signals import sla_document_announced

NOTICE_MONTHS = 3


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamped to the month's end (30 Nov + 3 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def earliest_effective(announced_on: date) -> date:
    return add_months(announced_on, NOTICE_MONTHS)


def notice_problem(announced_at, effective_from: date) -> str | None:
    """Why `effective_from` is too soon after the announcement (None: the notice suffices).
    Not announced yet: judged as announced now."""
    announced_on = timezone.localdate(announced_at or timezone.now())
    earliest = earliest_effective(announced_on)
    if effective_from >= earliest:
        return None
    return _(
        "A new SLA version must be announced at least %(months)d calendar months before it "
        "takes effect: announced on %(announced)s, it can take effect on %(earliest)s at the "
        "earliest."
    ) % {
        "months": NOTICE_MONTHS,
        "announced": formats.date_format(announced_on, "DATE_FORMAT"),
        "earliest": formats.date_format(earliest, "DATE_FORMAT"),
    }


def document_problem(uploaded_file) -> str | None:
    """Why the file is no acceptable SLA document (None: a PDF whose bytes agree)."""
    if uploads.extension_of(uploaded_file.name) != "pdf":
        return _("The SLA document must be a PDF file.")
    if uploaded_file.size > settings.ATTACHMENT_MAX_BYTES:
        return _("The file is too large (%(size)s); the limit is %(limit)s.") % {
            "size": filesizeformat(uploaded_file.size),
            "limit": uploads.readable_size(settings.ATTACHMENT_MAX_BYTES),
        }
    return uploads.content_problem(uploaded_file)


def versions_for(user):
    """The versions `user` may read: provider staff all, an authorised contact their own
    organisation's, anybody else none."""
    qs = SlaDocumentVersion.objects.select_related("contract__organization", "policy")
    if not user.is_authenticated:
        return qs.none()
    if user.is_provider_staff:
        return qs
    if not user.is_authorised_contact:
        return qs.none()
    return qs.filter(organization_filter(user, "contract__organization"))


def announce(version: SlaDocumentVersion, now=None) -> None:
    """Tell the organisation's authorised contacts (after commit: escalation's outbox, once),
    and record the announcement in the version's audit trail (once)."""
    SlaDocumentStep.objects.get_or_create(
        version=version,
        kind=SlaDocumentStep.Kind.ANNOUNCED,
        defaults={
            "actor": version.created_by,
            "at": version.announced_at or now or timezone.now(),
            "data": {"major_change": bool(version.route_state)},
        },
    )
    sla_document_announced.send(sender=SlaDocumentVersion, version=version, now=now)


@transaction.atomic
def register_version(contract, user, *, document, now=None, **fields) -> SlaDocumentVersion:
    """Register (and announce) a new version of `contract`'s SLA document. Raises
    ValidationError for a short notice, a file that is no PDF or a number already used."""
    now = now or timezone.now()
    version = SlaDocumentVersion(
        contract=contract,
        document=document,
        original_name=(document.name or "")[-255:],
        announced_at=now,
        created_by=user,
        **fields,
    )
    version.full_clean()
    from .majorchange import mark_on_registration  # deferred: it imports this module

    mark_on_registration(version)
    version.save()
    announce(version, now=now)
    return version


def request_change(user, title: str, description: str):
    """An authorised contact asks for a change of the SLA (SPEC §11: at any time): a question
    ticket to the provider (P4, like the portal's questions), with its receipt."""
    if not user.is_authorised_contact:
        raise PermissionDenied(_("Only authorised contacts may request a change of the SLA."))
    title = (title or "").strip()
    prefix = _("SLA change request")
    return create_ticket(
        actor=user,
        kind=Kind.QUESTION,
        title=f"{prefix}: {title}"[:200] if title else "",
        description=description,
        priority=Priority.P4,
    )
