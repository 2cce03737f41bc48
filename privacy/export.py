"""Everything PIM holds about one person, as JSON, for an access request (AVG/GDPR art. 15).

Each export is written to the privacy log (who asked, for whom, when, how many records), never
the data itself. Attachment files are listed with their names, types and sizes; the files can be
downloaded from the tickets.
"""

from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from changes.models import ChangeApproval
from escalation.models import Escalation, Notification
from intake.models import InboundMessage
from maintenance.models import FeedToken, MaintenanceNotice, MaintenanceUpdate, Subscription
from pim.models import ApiToken, Membership
from pim.routers import replica_reads
from reviews.models import PostIncidentReview, ReviewAction
from tickets.models import Attachment, AuditEntry, PriorityChange, Ticket, TicketUpdate

from .models import PrivacyAction, PrivacyEvent
from .services import sender_filter

FORMAT = "pim-personal-data/1"


def _iso(value):
    return value.isoformat() if value is not None else None


def _account(person):
    membership = Membership.objects.select_related("organization").filter(user=person).first()
    return {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "language": person.language,
        "is_active": person.is_active,
        "date_joined": _iso(person.date_joined),
        "last_login": _iso(person.last_login),
        "role": membership.role if membership else None,
        "organization": membership.organization.name
        if membership and membership.organization
        else None,
        "phone": membership.phone if membership else "",
    }


def _change(t):
    """What a change request holds besides the ticket (null for other kinds)."""
    change = getattr(t, "change_request", None) if t.kind == "change" else None
    if change is None:
        return None
    return {
        "type": change.type or None,
        "stage": change.stage,
        "why": change.why,
        "wished_date": _iso(change.wished_date),
        "services": [s.name for s in change.services.all()],
        "raised_from": change.raised_from.number if change.raised_from else None,
        "planned_start": _iso(change.planned_start),
        "planned_end": _iso(change.planned_end),
        "cancel_reason": change.cancel_reason,
        "documents": [
            {
                "kind": d.kind,
                "version": d.version,
                "status": d.status,
                "amount": str(d.amount) if d.amount is not None else None,
                "free": d.free,
                "sent_at": _iso(d.sent_at),
            }
            for d in change.documents.all()
            if d.status != "draft"
        ],
    }


def _tickets(person):
    tickets = (
        Ticket.objects.filter(reporter=person)
        .select_related("organization", "service", "location", "change_request__raised_from")
        .prefetch_related("change_request__services", "change_request__documents")
    )
    return [
        {
            "number": t.number,
            "kind": t.kind,
            "title": t.title,
            "description": t.description,
            "priority": t.priority,
            "status": t.status,
            "channel": t.channel,
            "organization": t.organization.name,
            "service": t.service.name if t.service else None,
            "location": t.location.name if t.location else None,
            "reported_at": _iso(t.reported_at),
            "resolved_at": _iso(t.resolved_at),
            "closed_at": _iso(t.closed_at),
            "change": _change(t),
        }
        for t in tickets.order_by("reported_at", "pk")
    ]


def _records(person):
    """The rest, one list per kind of record, each in time order."""
    return {
        "assigned_tickets": list(
            Ticket.objects.filter(assignee=person).order_by("pk").values_list("number", flat=True)
        ),
        "updates_written": [
            {
                "ticket": u.ticket.number,
                "visibility": u.visibility,
                "body": u.body,
                "next_actions": u.next_actions,
                "created_at": _iso(u.created_at),
            }
            for u in TicketUpdate.objects.filter(author=person)
            .select_related("ticket")
            .order_by("created_at", "pk")
        ],
        "attachments_uploaded": [
            {
                "ticket": a.ticket.number,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "created_at": _iso(a.created_at),
            }
            for a in Attachment.objects.filter(uploaded_by=person)
            .select_related("ticket")
            .order_by("created_at", "pk")
        ],
        "priority_changes": [
            {
                "ticket": c.ticket.number,
                "from": c.old_priority,
                "to": c.new_priority,
                "reason": str(c.reason_text),
                "at": _iso(c.changed_at),
            }
            for c in PriorityChange.objects.filter(changed_by=person)
            .select_related("ticket")
            .order_by("changed_at", "pk")
        ],
        "change_decisions": [
            {
                "ticket": a.change.ticket.number,
                "what": a.what,
                "version": a.version,
                "decision": a.decision,
                "side": a.side,
                "note": a.note,
                "at": _iso(a.at),
            }
            for a in ChangeApproval.objects.filter(by=person)
            .select_related("change__ticket")
            .order_by("at", "pk")
        ],
        "audit_trail": [
            {"ticket": e.ticket.number, "action": e.action, "at": _iso(e.at)}
            for e in AuditEntry.objects.filter(actor=person)
            .select_related("ticket")
            .order_by("at", "pk")
        ],
        "reviews_written": [
            {"ticket": r.ticket.number, "filed_at": _iso(r.filed_at), "published": r.published}
            for r in PostIncidentReview.objects.filter(author=person)
            .select_related("ticket")
            .order_by("filed_at", "pk")
        ],
        "review_actions_owned": [
            {
                "ticket": a.review.ticket.number,
                "description": a.description,
                "due": a.due.isoformat(),
                "done": a.done,
            }
            for a in ReviewAction.objects.filter(owner=person)
            .select_related("review__ticket")
            .order_by("due", "pk")
        ],
        "escalations": [
            {
                "ticket": e.ticket.number,
                "level": e.level,
                "trigger": e.trigger,
                "raised_by_you": e.raised_by_id == person.pk,
                "reason": e.reason if e.raised_by_id == person.pk else "",
                "raised_at": _iso(e.raised_at),
                "acknowledged_by_you": e.acknowledged_by_id == person.pk,
                "acknowledged_at": _iso(e.acknowledged_at),
            }
            for e in Escalation.objects.filter(Q(raised_by=person) | Q(acknowledged_by=person))
            .select_related("ticket")
            .order_by("raised_at", "pk")
        ],
        "notifications": [
            {
                "ticket": n.ticket.number if n.ticket else None,
                "channel": n.channel,
                "template": n.template,
                "trigger": n.trigger,
                "status": n.status,
                "created_at": _iso(n.created_at),
                "sent_at": _iso(n.sent_at),
                "read_at": _iso(n.read_at),
            }
            for n in Notification.objects.filter(recipient=person)
            .select_related("ticket")
            .order_by("created_at", "pk")
        ],
        "inbound_emails": [
            {
                "from": m.from_address,
                "name": m.from_name,
                "subject": m.subject,
                "text": m.body,
                "attachments": m.attachments,
                "received_at": _iso(m.received_at),
                "status": m.status,
                "ticket": m.ticket.number if m.ticket else None,
            }
            for m in InboundMessage.objects.filter(sender_filter(person))
            .select_related("ticket")
            .order_by("received_at", "pk")
        ],
        "maintenance_subscriptions": [
            {"organization": s.organization.name, "service": s.service.name if s.service else None}
            for s in Subscription.objects.filter(user=person)
            .select_related("organization", "service")
            .order_by("pk")
        ],
        "maintenance_notices_announced": list(
            MaintenanceNotice.objects.filter(initiated_by=person)
            .order_by("pk")
            .values_list("title", flat=True)
        ),
        "maintenance_updates_written": [
            {"notice": u.notice.title, "message": u.message, "at": _iso(u.at)}
            for u in MaintenanceUpdate.objects.filter(author=person)
            .select_related("notice")
            .order_by("pk")
        ],
        "calendar_feed": [
            {"created_at": _iso(f.created_at), "last_used_at": _iso(f.last_used_at)}
            for f in FeedToken.objects.filter(user=person)
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in ApiToken.objects.filter(user=person).order_by("created_at", "pk")
        ],
        "privacy_log": [
            {"action": e.action, "at": _iso(e.at), "via": e.via}
            for e in PrivacyEvent.objects.filter(subject=person).order_by("at", "pk")
        ],
    }


@scopes_disabled()
def export_person(person, *, actor=None, via):
    """The export as a dict (json.dumps-able), recorded in the privacy log."""
    now = timezone.now()
    with replica_reads():  # an export only reads: the read replica, where one is configured
        data = {
            "format": FORMAT,
            "exported_at": now.isoformat(),
            "account": _account(person),
            "reported_tickets": _tickets(person),
            **_records(person),
        }
    counts = {key: len(value) for key, value in data.items() if isinstance(value, list)}
    PrivacyEvent.objects.create(
        action=PrivacyAction.EXPORTED,
        at=now,
        actor=actor,
        via=via,
        subject=person,
        subject_label=person.get_username(),
        details={"records": counts},
    )
    return data
