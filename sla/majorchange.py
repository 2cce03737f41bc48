"""Which SLA document version is in force, the Major Change route (SPEC §11, issue 18 item 5)
and the reminders before a version takes effect.

A version is a Major Change when the provider marks it, or when the portal finds a target of
its policy longer than in the policy it replaces (`longer_targets`, per kind × priority ×
target, the contract's own overrides applied to both). Its route, with every deadline a date in
Europe/Amsterdam (the last day on which the step may be taken):

    notice        the announcement; the customer may object until objection_due
                  (announced + 30 days), from the portal or the API, with a reason
    objected      the provider analyses and consults until consultation_due (objection + 14)
    consulted     either side records agreement until agreement_due: 14 days after the
                  consultation (or after consultation_due, whichever comes first)
    agreed        the version applies as planned, or from the agreed date
    (no agreement) the customer may terminate free of charge until termination_due
                  (agreement_due + 30 days), with a notice of at most 3 months during which the
                  version is not applied: it applies from the day the termination takes effect
                  (ending the contract is the admin's `valid_to`)
    lapsed        neither agreed nor terminated: the version applies from the day after
                  termination_due (never before its own effective_from)
    accepted      no objection by objection_due: it applies as announced

While a route is open the engine keeps the old policy. What the engine uses is a function of
the stored steps and the date alone (`applies_on`), so a late task changes nothing for it; beat
runs `run` every hour to record the deadlines that passed (audited once) and send reminders:
the authorised contacts 30 and 7 days before a version takes effect, and before each deadline
(objection 7 days, termination 7 days, agreement 3 days; the provider's managers 3 days before
the consultation and the agreement). Every message is an outbox row with its own dedup key, so
running twice sends nothing twice.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from pim.exceptions import IllegalStateChange
from pim.permissions import is_admin, is_manager
from tickets.models import Kind

from .documents import add_months
from .models import (
    ContractOverride,
    PolicyTarget,
    RouteState,
    SlaDocumentStep,
    SlaDocumentVersion,
    Target,
)
from .signals import sla_document_notice

OBJECTION_DAYS = 30
CONSULTATION_DAYS = 14
AGREEMENT_DAYS = 14
TERMINATION_DAYS = 30
TERMINATION_NOTICE_MONTHS = 3
# Days before a version takes effect on which its authorised contacts are reminded.
EFFECT_REMINDERS = (30, 7)
OPEN_STATES = (RouteState.NOTICE, RouteState.OBJECTED, RouteState.CONSULTED)
# A working day of office hours, to compare a target in working days with one in minutes.
NOMINAL_DAY_MINUTES = 9 * 60

CONTACTS, MANAGERS = "contacts", "managers"
BOTH = (CONTACTS, MANAGERS)


class RouteRefused(IllegalStateChange):
    """The Major Change route has no such step now (409 with the reason and the deadline)."""


@dataclass(frozen=True)
class Route:
    objection_due: date
    consultation_due: date | None = None
    agreement_due: date | None = None
    termination_due: date | None = None


def _day(moment):
    return timezone.localdate(moment)


def route(version) -> Route | None:
    """The deadlines of a Major Change's route (None: not a Major Change)."""
    if not version.route_state or version.announced_at is None:
        return None
    objection_due = _day(version.announced_at) + timedelta(days=OBJECTION_DAYS)
    if version.objected_at is None:
        return Route(objection_due)
    consultation_due = _day(version.objected_at) + timedelta(days=CONSULTATION_DAYS)
    base = consultation_due
    if version.consulted_at is not None:
        base = min(base, _day(version.consulted_at))
    agreement_due = base + timedelta(days=AGREEMENT_DAYS)
    return Route(
        objection_due,
        consultation_due,
        agreement_due,
        agreement_due + timedelta(days=TERMINATION_DAYS),
    )


def phase(version, day: date) -> str:
    """Where the route stands on `day`: a RouteState value, or "no_agreement" (the customer may
    terminate); "" for a version that is no Major Change."""
    state = version.route_state
    deadlines = route(version)
    if deadlines is None:
        return state or ""
    if state == RouteState.NOTICE:
        return RouteState.NOTICE if day <= deadlines.objection_due else RouteState.ACCEPTED
    if state in (RouteState.OBJECTED, RouteState.CONSULTED):
        if day <= deadlines.agreement_due:
            return state
        if day <= deadlines.termination_due:
            return "no_agreement"
        return RouteState.LAPSED
    return state


def applies_on(version, day: date) -> date | None:
    """From which date `version` applies, as known on `day` (None: not yet known)."""
    current = phase(version, day)
    if current in ("", RouteState.NOTICE, RouteState.ACCEPTED):
        return version.effective_from
    if current == RouteState.AGREED:
        return version.agreed_on or version.effective_from
    if current == RouteState.LAPSED:
        after = route(version).termination_due + timedelta(days=1)
        return max(version.effective_from, after)
    if current == RouteState.TERMINATED:
        # not during the notice period: the old terms run until the termination takes effect
        return max(version.effective_from, version.terminates_on)
    return None  # objected, consulted, no agreement (yet)


def version_in_force(versions, day: date):
    """The version whose policy applies on `day`: the latest one that brings in a policy and
    applies by then (None: the contract's own policy)."""
    best = None
    for version in versions:
        if version.policy_id is None or version.announced_at is None:
            continue
        start = applies_on(version, day)
        if start is None or start > day:
            continue
        key = (start, version.effective_from, version.pk)
        if best is None or key > best[0]:
            best = (key, version)
    return best[1] if best else None


def policy_id_in_force(contract, day: date, versions=None) -> int:
    """The SLA policy a ticket of `contract`'s organisation registered on `day` gets."""
    if versions is None:
        versions = contract.document_versions.filter(policy__isnull=False)
    version = version_in_force(versions, day)
    return version.policy_id if version else contract.policy_id


# --- is it a Major Change? ------------------------------------------------------------------


def _nominal_minutes(unit, amount):
    if unit == "minutes":
        return amount
    if unit == "working_days":
        return amount * NOMINAL_DAY_MINUTES
    return NOMINAL_DAY_MINUTES  # the same working day: at most one


def _targets(policy_id, overrides):
    specs = {}
    for t in PolicyTarget.objects.filter(policy_id=policy_id):
        key = (t.kind, t.priority, t.target)
        unit, amount = overrides.get(key, (t.unit, t.amount))
        specs[key] = _nominal_minutes(unit, amount)
    return specs


def longer_targets(contract, policy_id, effective_from, exclude_pk=None) -> list[str]:
    """The targets of `policy_id` longer than (or missing from) the policy in force on the day
    before `effective_from`, as "incident P1 response" codes; the contract's overrides count
    for both."""
    versions = contract.document_versions.filter(policy__isnull=False)
    if exclude_pk:
        versions = versions.exclude(pk=exclude_pk)
    old_id = policy_id_in_force(contract, effective_from - timedelta(days=1), list(versions))
    if policy_id is None or policy_id == old_id:
        return []
    overrides = {
        (o.kind, o.priority, o.target): (o.unit, o.amount)
        for o in ContractOverride.objects.filter(contract=contract)
    }
    old, new = _targets(old_id, overrides), _targets(policy_id, overrides)
    worse = [key for key, minutes in old.items() if key not in new or new[key] > minutes]
    return [f"{kind} P{priority} {target}" for kind, priority, target in sorted(worse)]


def target_words(code: str) -> str:
    """A longer target's code ("incident P3 resolution") in the reader's words ("Incident P3
    Oplossing"); an unknown part stays as it is."""
    kind, priority, target = (code.split(" ", 2) + ["", ""])[:3]
    kinds, targets = dict(Kind.choices), dict(Target.choices)
    return f"{kinds.get(kind, kind)} {priority} {str(targets.get(target, target)).lower()}".strip()


def mark_on_registration(version) -> None:
    """Before a new version is saved: the longer targets, whether it is a Major Change, and
    from when it applies."""
    version.worse_targets = longer_targets(
        version.contract, version.policy_id, version.effective_from, exclude_pk=version.pk
    )
    if version.major_change or version.worse_targets:
        version.route_state = RouteState.NOTICE
    version.applies_from = version.effective_from


def is_major(version) -> bool:
    return bool(version.route_state)


# --- the steps ---------------------------------------------------------------------------------


def _date(value):
    return formats.date_format(value, "DATE_FORMAT")


def _is_contact_of(user, version) -> bool:
    return (
        user.is_authorised_contact
        and user.organization_id_or_none == version.contract.organization_id
    )


def _is_provider_manager(user) -> bool:
    return is_manager(user) or is_admin(user)


def _locked(version):
    return (
        SlaDocumentVersion.objects.select_for_update().select_related("contract").get(pk=version.pk)
    )


def _step(version, kind, actor, now, note="", **data) -> bool:
    """Record a step in the version's audit trail, once; True when recorded now."""
    _step_row, created = SlaDocumentStep.objects.get_or_create(
        version=version,
        kind=kind,
        defaults={"actor": actor, "at": now, "note": note, "data": data},
    )
    return created


def _notify(version, key, audience, now, **context):
    sla_document_notice.send(
        sender=SlaDocumentVersion,
        version=version,
        key=key,
        audience=audience,
        now=now,
        context={
            "step": key.split(":")[0],
            **{k: v.isoformat() if isinstance(v, date) else v for k, v in context.items()},
        },
    )


def _require_major(version):
    if not version.route_state:
        raise RouteRefused(
            _("Version %(number)s is no Major Change: it has no objection route.")
            % {"number": version.number}
        )


def _text(value, field, message):
    if not value or not str(value).strip():
        raise ValidationError({field: message})
    return str(value).strip()


@transaction.atomic
def object_to(version, user, reason, now=None):
    """An authorised contact objects to a Major Change within 30 days of the notice."""
    now = now or timezone.now()
    if not _is_contact_of(user, version):
        raise PermissionDenied(_("Only the organisation's authorised contacts may object."))
    version = _locked(version)
    _require_major(version)
    deadlines, today = route(version), _day(now)
    if version.objected_at is not None:
        raise RouteRefused(
            _("An objection was already recorded on %(date)s.")
            % {"date": _date(_day(version.objected_at))}
        )
    if phase(version, today) != RouteState.NOTICE:
        raise RouteRefused(
            _("The term to object ended on %(due)s.") % {"due": _date(deadlines.objection_due)}
        )
    reason = _text(reason, "reason", _("Say why you object."))
    version.objected_at, version.objection_reason = now, reason
    version.route_state, version.applies_from = RouteState.OBJECTED, None
    version.save(update_fields=["objected_at", "objection_reason", "route_state", "applies_from"])
    _step(version, SlaDocumentStep.Kind.OBJECTED, user, now, reason)
    _notify(version, "objected", (MANAGERS,), now, due=route(version).consultation_due)
    return version


@transaction.atomic
def consult(version, user, note, now=None):
    """The provider records its analysis and the consultation within 14 days of the objection."""
    now = now or timezone.now()
    if not _is_provider_manager(user):
        raise PermissionDenied(_("The provider's managers record the consultation."))
    version = _locked(version)
    _require_major(version)
    deadlines, today = route(version), _day(now)
    if version.objected_at is None:
        raise RouteRefused(_("No objection was made: there is nothing to consult on."))
    if version.consulted_at is not None:
        raise RouteRefused(
            _("The consultation was already recorded on %(date)s.")
            % {"date": _date(_day(version.consulted_at))}
        )
    if phase(version, today) != RouteState.OBJECTED or today > deadlines.consultation_due:
        raise RouteRefused(
            _("The consultation was due by %(due)s.") % {"due": _date(deadlines.consultation_due)}
        )
    note = _text(note, "note", _("Record the analysis and the consultation."))
    version.consulted_at, version.consultation = now, note
    version.route_state = RouteState.CONSULTED
    version.save(update_fields=["consulted_at", "consultation", "route_state"])
    _step(version, SlaDocumentStep.Kind.CONSULTED, user, now, note)
    _notify(version, "consulted", (CONTACTS,), now, due=route(version).agreement_due)
    return version


@transaction.atomic
def agree(version, user, applies_on_date=None, note="", now=None):
    """Either side records the agreement (within the agreement term): the version applies as
    planned, or from the agreed date."""
    now = now or timezone.now()
    if not (_is_contact_of(user, version) or _is_provider_manager(user)):
        raise PermissionDenied(
            _("The authorised contacts or the provider's managers record an agreement.")
        )
    version = _locked(version)
    _require_major(version)
    deadlines, today = route(version), _day(now)
    current = phase(version, today)
    if version.agreed_at is not None:
        raise RouteRefused(
            _("The agreement was already recorded on %(date)s.")
            % {"date": _date(_day(version.agreed_at))}
        )
    if version.objected_at is None:
        raise RouteRefused(_("No objection was made: the version applies as announced."))
    if current not in (RouteState.OBJECTED, RouteState.CONSULTED):
        raise RouteRefused(
            _("The term to agree ended on %(due)s.") % {"due": _date(deadlines.agreement_due)}
        )
    if applies_on_date is not None and applies_on_date <= today:
        raise ValidationError({"applies_on": _("Choose a date after today.")})
    version.agreed_at, version.agreed_on = now, applies_on_date
    version.route_state = RouteState.AGREED
    version.applies_from = applies_on_date or version.effective_from
    version.save(update_fields=["agreed_at", "agreed_on", "route_state", "applies_from"])
    _step(
        version,
        SlaDocumentStep.Kind.AGREED,
        user,
        now,
        (note or "").strip(),
        applies_from=version.applies_from.isoformat(),
    )
    _notify(version, "agreed", BOTH, now, applies=version.applies_from)
    return version


@transaction.atomic
def terminate(version, user, terminates_on=None, note="", now=None):
    """No agreement in time: an authorised contact terminates free of charge within 30 days,
    with a notice of at most 3 months, during which the Major Change is not applied: the old
    terms run until the termination takes effect (ending the contract itself is the admin's
    `valid_to`; tickets registered after it would get the new terms)."""
    now = now or timezone.now()
    if not _is_contact_of(user, version):
        raise PermissionDenied(_("Only the organisation's authorised contacts may terminate."))
    version = _locked(version)
    _require_major(version)
    deadlines, today = route(version), _day(now)
    current = phase(version, today)
    if current == RouteState.TERMINATED:
        raise RouteRefused(_("The agreement was already terminated."))
    if current != "no_agreement":
        if version.objected_at is None or current in (RouteState.NOTICE, RouteState.ACCEPTED):
            raise RouteRefused(
                _("Free termination is possible only after an objection that ended without "
                  "agreement.")
            )  # fmt: skip
        if current == RouteState.AGREED:
            raise RouteRefused(_("Both sides agreed: the version applies."))
        if current == RouteState.LAPSED:
            raise RouteRefused(
                _("The term to terminate ended on %(due)s.")
                % {"due": _date(deadlines.termination_due)}
            )
        raise RouteRefused(
            _("The customer may terminate once the term to agree has ended (%(due)s).")
            % {"due": _date(deadlines.agreement_due)}
        )
    latest = add_months(today, TERMINATION_NOTICE_MONTHS)
    terminates_on = terminates_on or latest
    if not today < terminates_on <= latest:
        raise ValidationError(
            {
                "terminates_on": _(
                    "The termination takes effect after today and at most %(months)d months "
                    "from now: on %(latest)s at the latest."
                )
                % {"months": TERMINATION_NOTICE_MONTHS, "latest": _date(latest)}
            }
        )
    version.terminated_at, version.terminates_on = now, terminates_on
    version.route_state = RouteState.TERMINATED
    version.applies_from = max(version.effective_from, terminates_on)
    version.save(update_fields=["terminated_at", "terminates_on", "route_state", "applies_from"])
    _step(
        version,
        SlaDocumentStep.Kind.TERMINATED,
        user,
        now,
        (note or "").strip(),
        terminates_on=terminates_on.isoformat(),
    )
    _notify(version, "terminated", BOTH, now, terminates=terminates_on)
    return version


# --- beat: deadlines that passed, reminders -------------------------------------------------


def _advance(version, now):
    """Record the deadlines of an open route that passed (once each) and remind before the
    next one. Returns the number of versions whose state changed (0 or 1)."""
    today = _day(now)
    deadlines = route(version)
    current = phase(version, today)
    if current == RouteState.ACCEPTED:
        version.route_state, version.applies_from = RouteState.ACCEPTED, version.effective_from
        version.save(update_fields=["route_state", "applies_from"])
        _step(version, SlaDocumentStep.Kind.ACCEPTED, None, now)
        return 1
    if current in ("no_agreement", RouteState.LAPSED) and _step(
        version, SlaDocumentStep.Kind.NO_AGREEMENT, None, now
    ):
        _notify(version, "no_agreement", BOTH, now, due=deadlines.termination_due)
    if current == RouteState.LAPSED:
        version.route_state = RouteState.LAPSED
        version.applies_from = applies_on(version, today)
        version.save(update_fields=["route_state", "applies_from"])
        if _step(version, SlaDocumentStep.Kind.LAPSED, None, now):
            _notify(version, "lapsed", BOTH, now, applies=version.applies_from)
        return 1
    if current == RouteState.NOTICE and today >= deadlines.objection_due - timedelta(days=7):
        _notify(version, "objection_reminder", (CONTACTS,), now, due=deadlines.objection_due)
    if (
        current == RouteState.OBJECTED
        and today <= deadlines.consultation_due
        and today >= deadlines.consultation_due - timedelta(days=3)
    ):
        _notify(version, "consultation_reminder", (MANAGERS,), now, due=deadlines.consultation_due)
    if current in (RouteState.OBJECTED, RouteState.CONSULTED) and (
        today >= deadlines.agreement_due - timedelta(days=3)
    ):
        _notify(version, "agreement_reminder", BOTH, now, due=deadlines.agreement_due)
    if current == "no_agreement" and today >= deadlines.termination_due - timedelta(days=7):
        _notify(version, "termination_reminder", (CONTACTS,), now, due=deadlines.termination_due)
    return 0


def _remind_effect(version, today, now):
    left = (version.applies_from - today).days
    days = min(d for d in EFFECT_REMINDERS if left <= d)
    _notify(
        version,
        f"effect:{days}:{version.applies_from.isoformat()}",
        (CONTACTS,),
        now,
        applies=version.applies_from,
        days=days,
    )


def run(now=None) -> dict:
    """Beat (hourly): advance the open routes and remind the contacts before a version takes
    effect. Idempotent: each step is recorded once and each message has its own dedup key."""
    now = now or timezone.now()
    today = _day(now)
    changed = 0
    open_routes = SlaDocumentVersion.objects.filter(
        route_state__in=OPEN_STATES, announced_at__isnull=False
    ).select_related("contract")
    for version in open_routes:
        with transaction.atomic():
            changed += _advance(_locked(version), now)
    upcoming = SlaDocumentVersion.objects.filter(
        applies_from__gt=today,
        applies_from__lte=today + timedelta(days=max(EFFECT_REMINDERS)),
        announced_at__isnull=False,
    ).select_related("contract__organization")
    reminded = 0
    for version in upcoming:
        with transaction.atomic():
            _remind_effect(version, today, now)
        reminded += 1
    return {"advanced": changed, "reminded": reminded}


# --- who may take which step now ------------------------------------------------------------

ACTIONS = ("object", "consult", "agree", "terminate")


def may(user, version, action) -> bool:
    """Whether `user`'s role may take `action` on `version` at all (not whether it is due)."""
    if action in ("object", "terminate"):
        return _is_contact_of(user, version)
    if action == "consult":
        return _is_provider_manager(user)
    if action == "agree":
        return _is_contact_of(user, version) or _is_provider_manager(user)
    return False


def require_role(user, version, action) -> None:
    if action not in ACTIONS:
        raise ValidationError({"action": _("Choose one of: %s.") % ", ".join(ACTIONS)})
    if not may(user, version, action):
        raise PermissionDenied(_("Your role cannot take this step."))


def actions_for(user, version, day: date) -> list[str]:
    """The steps `user` may take on `version` on `day` (the page's forms, the API's list)."""
    current = phase(version, day)
    open_now = {
        "object": current == RouteState.NOTICE and version.objected_at is None,
        "consult": current == RouteState.OBJECTED
        and day <= (route(version).consultation_due or day),
        "agree": current in (RouteState.OBJECTED, RouteState.CONSULTED),
        "terminate": current == "no_agreement",
    }
    return [a for a in ACTIONS if open_now[a] and may(user, version, a)]


def take(version, user, action, *, reason="", note="", applies_on=None, terminates_on=None):
    """One step of the route by name (the page and the API): role (403), state (409), input
    (400), in that order."""
    require_role(user, version, action)
    if action == "object":
        return object_to(version, user, reason or note)
    if action == "consult":
        return consult(version, user, note or reason)
    if action == "agree":
        return agree(version, user, applies_on, note or reason)
    return terminate(version, user, terminates_on, note or reason)


def status(version, user, day: date) -> dict | None:
    """The route as the page and the API show it (None: no Major Change)."""
    deadlines = route(version)
    if deadlines is None:
        return None
    return {
        "state": phase(version, day),
        "marked_by_provider": version.major_change,
        "longer_targets": list(version.worse_targets or []),
        "longer_targets_text": [target_words(code) for code in version.worse_targets or []],
        "objection_due": deadlines.objection_due,
        "consultation_due": deadlines.consultation_due,
        "agreement_due": deadlines.agreement_due,
        "termination_due": deadlines.termination_due,
        "objected_at": version.objected_at,
        "objection_reason": version.objection_reason,
        "consulted_at": version.consulted_at,
        "consultation": version.consultation,
        "agreed_at": version.agreed_at,
        "agreed_on": version.agreed_on,
        "terminated_at": version.terminated_at,
        "terminates_on": version.terminates_on,
        "actions": actions_for(user, version, day),
    }


def state_label(state) -> str:
    """A route state (or phase) in the reader's language."""
    if state == "no_agreement":
        return _("No agreement: the customer may terminate")
    return str(dict(RouteState.choices).get(state, state))
