"""Every write of problem management (SPEC §7, seed §6). Views, the API and the receivers call
these functions; each checks the actor, writes, and audits on the tickets concerned."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from changes.models import ChangeRequest, Stage
from escalation.outbox import notify_all
from pim.models import Role, User
from pim.permissions import is_customer, is_provider_staff, is_worker, require_staff, require_worker
from tickets import services as ticket_services
from tickets.models import (
    OPEN_STATUSES,
    Channel,
    Kind,
    ResolutionType,
    Status,
    Ticket,
)

from .models import (
    KnownError,
    KnownErrorFollower,
    Level,
    Problem,
    ProblemIncident,
    WorkaroundSent,
    priority_for,
)

WORKAROUND_TEMPLATE = "problem_workaround"
FIXED_TEMPLATE = "problem_fixed"


def ensure_problem(ticket) -> Problem:
    """The problem row of a problem ticket (a ticket registered as `problem` elsewhere, through
    the ticket API, gets one with medium impact and urgency)."""
    problem, _created = Problem.objects.get_or_create(ticket=ticket)
    return problem


def _level(name, value):
    if value not in Level.values:
        raise ValidationError({name: _("Choose high, medium or low.")})
    return value


def _incidents(incidents):
    incidents = list(incidents)
    for incident in incidents:
        if incident.kind != Kind.INCIDENT:
            raise ValidationError(
                {"incidents": _("%(number)s is not an incident.") % {"number": incident.number}}
            )
    return incidents


@transaction.atomic
def raise_problem(
    actor,
    *,
    title,
    description,
    impact=Level.MEDIUM,
    urgency=Level.MEDIUM,
    incidents=(),
    organization=None,
    owner=None,
    service=None,
) -> Problem:
    """Register a problem from one or more incidents (of any organisations) or one
    significant incident. The problem ticket belongs to the organisation of its first
    incident (or the one given); customers of no organisation ever see it. Workers raise
    problems, and managers too (from the incident trends, SPEC §7); a problem raised by a manager
    is owned by nobody until a worker takes it."""
    require_staff(actor)
    impact, urgency = _level("impact", impact), _level("urgency", urgency)
    incidents = _incidents(incidents)
    if organization is None:
        if not incidents:
            raise ValidationError(
                {"incidents": _("Raise a problem from an incident, or name the organisation.")}
            )
        organization = incidents[0].organization
    if service is not None and service.organization_id != organization.pk:
        service = None
    if owner is not None and not is_worker(owner):
        raise ValidationError({"owner": _("Only service desk staff own a problem.")})
    ticket = ticket_services.create_ticket(
        actor=actor,
        title=title,
        description=description,
        organization=organization,
        kind=Kind.PROBLEM,
        priority=priority_for(impact, urgency),
        # Problems come from analysing the incident database (seed §6.2), not from a caller.
        channel=Channel.MONITORING,
        service=service,
    )
    problem = ensure_problem(ticket)
    problem.impact, problem.urgency = impact, urgency
    problem.owner = owner or (actor if is_worker(actor) else None)
    problem.save()
    for incident in incidents:
        link_incident(problem, actor, incident)
    return problem


@transaction.atomic
def update_problem(problem, actor, **fields) -> Problem:
    """Impact and urgency (the priority follows, with its reason), owner, root cause."""
    require_worker(actor)
    ticket = problem.ticket
    changes = {}
    impact = _level("impact", fields.get("impact", problem.impact))
    urgency = _level("urgency", fields.get("urgency", problem.urgency))
    owner = fields.get("owner", problem.owner)
    if "owner" in fields and owner is not None and not is_worker(owner):
        raise ValidationError({"owner": _("Only service desk staff own a problem.")})
    for name, value in (("impact", impact), ("urgency", urgency)):
        if getattr(problem, name) != value:
            changes[name] = [getattr(problem, name), value]
            setattr(problem, name, value)
    if "owner" in fields and problem.owner_id != (owner.pk if owner else None):
        changes["owner"] = [str(problem.owner or ""), str(owner or "")]
        problem.owner = owner
    if "root_cause" in fields and fields["root_cause"] != problem.root_cause:
        changes["root_cause"] = [problem.root_cause, fields["root_cause"]]
        problem.root_cause = fields["root_cause"]
    if changes:
        problem.save()
        ticket_services.record_audit(ticket, actor, "problem_update", changes, obj=problem)
    priority = priority_for(impact, urgency)
    if priority != ticket.priority and ticket.is_open:
        ticket_services.change_priority(
            ticket,
            actor,
            priority,
            _("Impact %(impact)s, urgency %(urgency)s.")
            % {"impact": Level(impact).label.lower(), "urgency": Level(urgency).label.lower()},
        )
    return problem


@transaction.atomic
def link_incident(problem, actor, incident) -> tuple[ProblemIncident, bool]:
    """Link an incident to the problem (once); both tickets' audit trails say so. Provider
    staff link (a manager links the incidents of the problem they raise from the trends)."""
    require_staff(actor)
    _incidents([incident])
    link, created = ProblemIncident.objects.get_or_create(
        problem=problem,
        incident=incident,
        defaults={"linked_by": actor, "linked_at": timezone.now()},
    )
    if created:
        number = problem.ticket.number
        ticket_services.record_audit(
            problem.ticket, actor, "problem_link", {"incident": [None, incident.number]}
        )
        # on the incident as the link's entry: customers read the ticket's own entries only
        ticket_services.record_audit(
            incident, actor, "problem_link", {"linked_problem": [None, number]}, obj=link
        )
    return link, created


# --- known errors ---------------------------------------------------------------------------

KNOWN_ERROR_FIELDS = ("title", "symptoms", "root_cause", "workaround")


def _fix_change(value):
    if value is None or isinstance(value, ChangeRequest):
        return value
    if isinstance(value, Ticket):
        if value.kind != Kind.CHANGE:
            raise ValidationError({"fix_change": _("Choose a change request.")})
        change = ChangeRequest.objects.filter(ticket=value).first()
        if change is None:
            raise ValidationError({"fix_change": _("Choose a change request.")})
        return change
    raise ValidationError({"fix_change": _("Choose a change request.")})


@transaction.atomic
def save_known_error(problem, actor, known_error=None, **data) -> KnownError:
    """Record the root cause as a known error (or edit one): title, symptoms, root cause,
    workaround, services, the organisations it is published to, the change that fixes it."""
    require_worker(actor)
    new = known_error is None
    known_error = known_error or KnownError(problem=problem, created_by=actor)
    changes = {}
    for name in KNOWN_ERROR_FIELDS:
        if name in data:
            value = (data[name] or "").strip()
            if value != getattr(known_error, name):
                changes[name] = [getattr(known_error, name), value]
                setattr(known_error, name, value)
    if not known_error.title:
        raise ValidationError({"title": _("A title is required.")})
    if "fix_change" in data:
        change = _fix_change(data["fix_change"])
        if (change.pk if change else None) != known_error.fix_change_id:
            changes["fix_change"] = [None, change.ticket.number if change else None]
            known_error.fix_change = change
    known_error.save()
    if "services" in data:
        known_error.services.set(data["services"])
    if "published_to" in data:
        before = set(known_error.published_to.values_list("pk", flat=True))
        after = {o.pk for o in data["published_to"]}
        if before != after:
            changes["published_to"] = [sorted(before), sorted(after)]
        known_error.published_to.set(data["published_to"])
    if new or changes:
        ticket_services.record_audit(
            problem.ticket, actor, "known_error_new" if new else "known_error", changes,
            obj=known_error,
        )  # fmt: skip
    if (
        known_error.fix_change_id
        and known_error.fixed_at is None
        and known_error.fix_change.stage == Stage.CLOSED
    ):
        fix_by_change(known_error.fix_change)  # linked after the change closed: fixed now
    return known_error


def known_errors_for(user):
    """The known errors `user` may read: staff all, customers those published to their
    organisation, nobody else any."""
    if is_provider_staff(user):
        return KnownError.objects.all()
    if is_customer(user) and user.organization_id_or_none:
        return KnownError.objects.filter(published_to=user.organization_id_or_none)
    return KnownError.objects.none()


@transaction.atomic
def follow(known_error, user, follow=True) -> bool:
    """A customer follows a known error published to their organisation (told once when it is
    fixed); returns whether they follow it now."""
    if not known_errors_for(user).filter(pk=known_error.pk).exists():
        raise PermissionDenied(_("You cannot follow this known error."))
    if not follow:
        KnownErrorFollower.objects.filter(known_error=known_error, user=user).delete()
        return False
    KnownErrorFollower.objects.get_or_create(
        known_error=known_error, user=user, defaults={"followed_at": timezone.now()}
    )
    return True


def workaround_audience(known_error):
    """[(person, incident)]: the reporters and the authorised contacts of every incident linked
    to the known error's problem, each person once (with their first incident)."""
    links = (
        ProblemIncident.objects.filter(problem_id=known_error.problem_id)
        .select_related("incident")
        .order_by("incident_id")
    )
    incidents = [link.incident for link in links]
    if not incidents:
        return []
    org_ids = {i.organization_id for i in incidents}
    reporters = {i.reporter_id for i in incidents}
    people = User.objects.filter(
        Q(pk__in=reporters)
        | Q(membership__role=Role.AUTHORISED_CONTACT, membership__organization_id__in=org_ids),
        is_active=True,
        membership__role__in=[Role.CUSTOMER_USER, Role.AUTHORISED_CONTACT],
    ).select_related("membership")
    result = []
    for person in people.order_by("pk"):
        org_id = person.membership.organization_id
        own = [i for i in incidents if i.reporter_id == person.pk] or [
            i for i in incidents if i.organization_id == org_id
        ]
        if own:
            result.append((person, own[0]))
    return result


@transaction.atomic
def send_workaround(known_error, actor, now=None) -> int:
    """Send the workaround to every reporter and authorised contact of the linked incidents,
    once per person: a second run (a double click, a retry) sends nothing again, and after more
    incidents were linked it reaches only the new people. Returns how many were told now."""
    require_staff(actor)
    if not known_error.workaround.strip():
        raise ValidationError({"workaround": _("The known error has no workaround to send.")})
    now = now or timezone.now()
    told = 0
    for person, incident in workaround_audience(known_error):
        try:
            with transaction.atomic():
                WorkaroundSent.objects.create(
                    known_error=known_error, user=person, incident=incident, sent_by=actor,
                    sent_at=now,
                )  # fmt: skip
        except IntegrityError:
            continue  # told before
        notify_all(
            [person],
            ticket=incident,
            trigger=f"ke_workaround:{known_error.pk}",
            template=WORKAROUND_TEMPLATE,
            context={"known_error": known_error.pk},
            now=now,
        )
        told += 1
    ticket_services.record_audit(
        known_error.problem.ticket, actor, "workaround_sent", {"told": [None, told]},
        obj=known_error,
    )  # fmt: skip
    return told


# --- the fix: a linked change is closed -------------------------------------------------------


def _worker_for(problem):
    """Who resolves the incidents when the fix lands: the problem's owner, else whoever raised
    the problem (a worker: only workers resolve tickets)."""
    if problem.owner is not None and is_worker(problem.owner) and problem.owner.is_active:
        return problem.owner
    return problem.ticket.reporter


@transaction.atomic
def fix_by_change(change, now=None) -> int:
    """The change that fixes known errors is closed (seed §6.2 "Nadat de RFC door
    Changemanagement is afgehandeld, worden de gekoppelde incidenten afgehandeld en gebruiker(s)
    geïnformeerd"): every open linked incident gets the definitive fix recorded (the known error
    and the change named) and is resolved through the ticket's own service (its reporter is told
    the normal way, once); the known errors are marked fixed and their followers told once.
    Returns the number of incidents resolved."""
    if change.stage != Stage.CLOSED:
        return 0
    now = now or timezone.now()
    resolved = 0
    known_errors = KnownError.objects.filter(fix_change=change, fixed_at__isnull=True)
    for known_error in known_errors.select_related("problem__ticket", "problem__owner"):
        problem = known_error.problem
        actor = _worker_for(problem)
        known_error.fixed_at = now
        known_error.save(update_fields=["fixed_at", "updated_at"])
        ticket_services.record_audit(
            problem.ticket, None, "known_error_fixed",
            {"change": [None, change.ticket.number]}, obj=known_error,
        )  # fmt: skip
        note = _(
            "Definitive fix: known error “%(title)s” (problem %(problem)s) was fixed by change "
            "%(change)s."
        ) % {"title": known_error.title, "problem": problem.ticket.number,
             "change": change.ticket.number}  # fmt: skip
        incidents = Ticket.objects.filter(
            problem_links__problem=problem, status__in=sorted(OPEN_STATUSES)
        ).order_by("pk")
        for incident in incidents:
            ticket_services.transition(
                incident,
                actor,
                Status.RESOLVED,
                note=note,
                resolution={
                    "resolution_type": ResolutionType.DEFINITIVE,
                    "resolution_cause": known_error.root_cause or known_error.title,
                    "resolution_how": note,
                },
            )
            resolved += 1
        _tell_followers(known_error, now)
    return resolved


def _tell_followers(known_error, now):
    followers = KnownErrorFollower.objects.filter(
        known_error=known_error, told_at__isnull=True
    ).select_related("user")
    for follower in followers:
        if follower.user.is_active:
            notify_all(
                [follower.user],
                ticket=None,
                trigger=f"ke_fixed:{known_error.pk}",
                template=FIXED_TEMPLATE,
                context={"known_error": known_error.pk},
                now=now,
            )
    followers.update(told_at=now)
