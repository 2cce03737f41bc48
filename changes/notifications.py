"""What the requester of a change is told at every step (seed §5.2), through the customer
notification machinery of escalation (`escalation.customer.tell`): one outbox row per (step,
recipient, channel) with a unique dedup key, so each step is told exactly once, in the
recipient's language, by e-mail and in the bell as their preferences say (the event is
"other status changes"). Approval requests also go to the organisation's authorised contacts,
and an RFC waiting for the provider's approval to the provider's managers.

Progress updates, completion (the ticket is resolved: "please confirm") and cancellation or
closure (the ticket is closed) are told by the ticket's own messages, not again here.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from escalation import customer, delivery
from escalation.models import CustomerEvent
from escalation.outbox import notify_all
from pim.models import MANAGER_ROLES, Role, User

from .models import ChangeType, Decision, DocumentKind, Route, Side, Stage

TEMPLATE = "change_step"
STAFF_TEMPLATE = "change_staff"
PREFIX = "change_"


def _contacts(ticket):
    return list(
        User.objects.filter(
            is_active=True,
            membership__role=Role.AUTHORISED_CONTACT,
            membership__organization_id=ticket.organization_id,
        ).values_list("pk", flat=True)
    )


def _tell(change, step, key, actor, contacts=False, **context):
    ticket = change.ticket
    return customer.tell(
        ticket,
        CustomerEvent.STATUS,
        f"chg-{key}",
        {"template": TEMPLATE, "step": step, **context},
        actor=actor,
        extra=_contacts(ticket) if contacts else (),
    )


def _short(text):
    return (text or "").strip()[: customer.TEXT_MAX]


def _name(user):
    return (user.get_full_name() or user.username) if user is not None else ""


def _iso(value):
    return value.isoformat() if value else ""


def classified(change, actor, approved):
    return _tell(
        change,
        "classified",
        f"classified-{change.classified_at.timestamp():.0f}",
        actor,
        contacts=not approved and change.type in (ChangeType.STANDARD, ChangeType.MEDIUM),
        type=change.type,
        reason=_short(change.type_reason),
        approved=approved,
    )


def verification(change, actor):
    return _tell(change, "verification", "verification", actor)


def quote_notice(change, actor, key, note):
    return _tell(
        change,
        "quote_notice",
        f"notice-{key}",
        actor,
        free=change.quote_free,
        due=_iso(change.quote_due_at),
        note=_short(note),
    )


def document_sent(change, document, actor):
    written = _tell(
        change,
        "document",
        f"doc-{document.version}",
        actor,
        contacts=True,
        kind=document.kind,
        version=document.version,
        amount=str(document.amount) if document.amount is not None else "",
        free=document.free,
    )
    if document.kind == DocumentKind.RFC:
        managers = User.objects.filter(
            is_active=True, membership__role__in=sorted(MANAGER_ROLES)
        ).order_by("pk")
        written += notify_all(
            managers,
            ticket=change.ticket,
            trigger=f"change_rfc:{document.pk}",
            template=STAFF_TEMPLATE,
            context={"step": "rfc_waiting", "version": document.version},
            now=document.sent_at,
        )
    return written


def estimated(change, document, actor, note):
    """The estimate is recorded: the route it gives, and on the estimate route the estimate
    itself (the authorised contacts decide on it)."""
    key = f"version-{document.version}" if document else f"{change.estimated_at.timestamp():.0f}"
    return _tell(
        change,
        "estimated",
        f"estimate-{key}",
        actor,
        contacts=document is not None,
        route=change.route or "",
        minutes=change.estimate_minutes,
        new_application=change.new_application,
        version=document.version if document else None,
        note=_short(note),
    )


def offered(change, actor, note, now):
    """The work is on the acceptance environment: the authorised contacts approve the result."""
    return _tell(
        change,
        "offered",
        f"offer-{now.timestamp():.0f}",
        actor,
        contacts=True,
        note=_short(note),
    )


def decided(change, approval, actor, stage_moved):
    return _tell(
        change,
        "decided",
        f"decision-{approval.pk}",
        actor,
        what=approval.what,
        version=approval.version,
        decision=approval.decision,
        side=approval.side,
        by=_name(approval.by),
        note=_short(approval.note),
        stage=change.stage,
        waiting=not stage_moved,
    )


def planned(change, actor):
    return _tell(
        change,
        "planned",
        f"plan-{change.planned_start.timestamp():.0f}-{change.planned_end.timestamp():.0f}",
        actor,
        start=_iso(change.planned_start),
        end=_iso(change.planned_end),
    )


def started(change, actor):
    return _tell(change, "started", "started", actor)


# --- the words (in the active language: the bell's reader, the e-mail's recipient) -------------


def _when(value):
    try:
        return timezone.localtime(datetime.fromisoformat(value)).strftime("%d-%m-%Y %H:%M")
    except (TypeError, ValueError):
        return ""


def duration(minutes):
    """Minutes in words: "45 min", "2 h", "1 h 30 min" (in the active language)."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return _("%(minutes)s min") % {"minutes": rest}
    if not rest:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}


def route_text(route, minutes, new_application):
    """Why the change takes its route and what happens on it (the page and the notice)."""
    params = {"duration": duration(minutes)}
    if route == Route.DIRECT:
        return _("The work is expected to take %(duration)s, under 45 minutes: we carry it out "
                 "at once and put it on the acceptance environment. After an authorised "
                 "contact approves the result, we deliver it to production.") % params  # fmt: skip
    if route == Route.ESTIMATE:
        return _("The work is expected to take %(duration)s, from 45 minutes up to 4 hours: we "
                 "send an estimate first and start once an authorised contact has accepted "
                 "it.") % params  # fmt: skip
    if route == Route.QUOTE:
        if new_application:
            return _("A new application or form always goes through a quote: we start once "
                     "the quote is approved.")  # fmt: skip
        if minutes is not None and minutes > 240:
            return _("Work over 4 hours (expected: %(duration)s) always goes through a quote: "
                     "we start once the quote is approved.") % params  # fmt: skip
        return _("This change goes through its quote or RFC: we start once it is approved.")
    return ""


def _label(choices, code):
    return str(choices(code).label).lower() if code in choices.values else code


def _with(text, label, note):
    return f"{text}\n\n{label}:\n{note}" if note else text


def message_for(notification):
    """(subject, body, extra) of a change notification."""
    ticket = notification.ticket
    ctx = notification.context or {}
    params = {"number": ticket.number if ticket else "", "title": ticket.title if ticket else ""}
    step = ctx.get("step")
    if step == "classified":
        params["type"] = _label(ChangeType, ctx.get("type", ""))
        subject = _("Change %(number)s is classified as %(type)s") % params
        body = _with(
            _("We classified change request %(number)s as a %(type)s change.") % params,
            _("Reason"),
            ctx.get("reason", ""),
        )
        if ctx.get("approved"):
            body += "\n\n" + _(
                "An authorised contact filed it: it is approved and we carry it out."
            )
        elif ctx.get("type") in (ChangeType.STANDARD, ChangeType.MEDIUM):
            body += "\n\n" + _(
                "An authorised contact approves it in the portal before we carry it out."
            )
    elif step == "verification":
        subject = _("We are verifying change %(number)s") % params
        body = (
            _("We are verifying change request %(number)s: we check its content, assess it and "
              "consult expertise where needed.") % params
        )  # fmt: skip
    elif step == "quote_notice":
        params["due"] = _when(ctx.get("due", ""))
        subject = _("The quote for change %(number)s comes by %(due)s") % params
        body = _("The quote for change request %(number)s comes by %(due)s.") % params
        if ctx.get("free"):
            body += " " + _("It is free of charge.")
        else:
            body += " " + _("It is not free of charge: an authorised contact approves the costs "
                            "before we start.")  # fmt: skip
        body = _with(body, _("Note"), ctx.get("note", ""))
    elif step == "document":
        params["kind"] = _label(DocumentKind, ctx.get("kind", ""))
        params["version"] = ctx.get("version", "")
        subject = _("The %(kind)s for change %(number)s (version %(version)s)") % params
        body = (
            _(
                "Version %(version)s of the %(kind)s for change request %(number)s is ready. An "
                "authorised contact approves or rejects it in the portal."
            )
            % params
        )
        if ctx.get("amount"):
            body += "\n\n" + _("Amount: EUR %(amount)s") % {"amount": ctx["amount"]}
        elif ctx.get("free"):
            body += "\n\n" + _("It is free of charge.")
    elif step == "estimated":
        params.update(duration=duration(ctx.get("minutes")), version=ctx.get("version") or "")
        if ctx.get("version"):
            subject = _("The estimate for change %(number)s: %(duration)s") % params
        else:
            subject = _("Change %(number)s is estimated at %(duration)s") % params
        body = route_text(ctx.get("route"), ctx.get("minutes"), ctx.get("new_application"))
        if ctx.get("version"):
            body += "\n\n" + _(
                "The estimate includes carrying out the work and delivering it to your "
                "satisfaction; further requests are not included. An authorised contact "
                "accepts or rejects it (version %(version)s) in the portal."
            ) % params  # fmt: skip
        body = _with(body, _("Note"), ctx.get("note", ""))
    elif step == "offered":
        subject = _("Change %(number)s is ready on the acceptance environment") % params
        body = _(
            "We carried out change request %(number)s and put it on the acceptance "
            "environment. An authorised contact checks the result and approves or rejects it in "
            "the portal; after the approval we deliver it to production."
        ) % params  # fmt: skip
        body = _with(body, _("What to check"), ctx.get("note", ""))
    elif step == "decided":
        params.update(
            by=ctx.get("by", ""),
            version=ctx.get("version") or "",
            what=_what(ctx),
        )
        if ctx.get("decision") == Decision.REJECTED:
            subject = _("Change %(number)s: %(what)s rejected") % params
            body = _("%(by)s rejected %(what)s of change request %(number)s.") % params
            if ctx.get("what") == "result":
                body += " " + _("We rework it and offer it for acceptance again.")
        else:
            subject = _("Change %(number)s: %(what)s approved") % params
            body = _("%(by)s approved %(what)s of change request %(number)s.") % params
            if ctx.get("waiting"):
                body += " " + _("It waits for the approval of the other side.")
            elif ctx.get("what") == "result":
                body += " " + _("We deliver the change to production.")
            elif ctx.get("what") == "estimate":
                body += " " + _("We carry out the work.")
            elif ctx.get("stage") == Stage.APPROVED:
                body += " " + _("We plan the change and tell you the planned start and end.")
        body = _with(body, _("Note"), ctx.get("note", ""))
    elif step == "planned":
        params.update(start=_when(ctx.get("start", "")), end=_when(ctx.get("end", "")))
        subject = _("Change %(number)s is planned: %(start)s – %(end)s") % params
        body = _("We planned change request %(number)s from %(start)s to %(end)s.") % params
    elif step == "started":
        subject = _("Work on change %(number)s has started") % params
        body = _("We started carrying out change request %(number)s.") % params
    elif step == "rfc_waiting":
        params["version"] = ctx.get("version", "")
        subject = _("RFC %(number)s (version %(version)s) waits for the provider's approval") % (
            params
        )
        body = (
            _(
                "Large change %(number)s needs the approval of its RFC by a provider manager as "
                "well as by the customer before it can be planned."
            )
            % params
        )
    elif step == "progress_due":
        params["days"] = ctx.get("days", "")
        subject = _("Progress update due for change %(number)s") % params
        body = (
            _(
                "Large change %(number)s is in progress and has had no progress update for "
                "%(days)s working days. Report the progress on its page."
            )
            % params
        )
    else:
        subject, body = _("Change %(number)s changed") % params, ""
    return subject, body, {}


def _what(ctx):
    if ctx.get("what") == "change":
        return _("the change")
    if ctx.get("what") == "result":
        return _("the result on the acceptance environment")
    if ctx.get("what") == "estimate":
        return _("the estimate (version %(version)s)") % {"version": ctx.get("version") or ""}
    if ctx.get("side") == Side.PROVIDER:
        return _("the RFC (version %(version)s), for the provider,") % {
            "version": ctx.get("version") or ""
        }
    if ctx.get("what") == "rfc":
        return _("the RFC (version %(version)s)") % {"version": ctx.get("version") or ""}
    return _("the quote (version %(version)s)") % {"version": ctx.get("version") or ""}


def render_email(notification):
    return delivery.compose_email(notification, message_for)


def install_renderer():
    delivery.register_renderer(PREFIX, message_for, render_email)
