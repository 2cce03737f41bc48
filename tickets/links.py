"""Links between tickets (issue 16 item 6): related, caused by, duplicate of, parent of. Provider
staff add and remove them; both tickets show them (the page's "Links" panel, the API's `links`),
each reading the link from its own side (A "duplicate of" B is B "has duplicate" A). A customer
sees only the links to tickets they may see: a link to another organisation's ticket is
invisible to them. Every change is audited on both tickets.

Marking a ticket a duplicate closes it with a public pointer to the original, and its reporter
follows the original (a watcher), so they are told how it ends."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pim.filters import parse_id
from pim.permissions import is_worker, require_staff

from . import participation, services
from .models import LINK_INVERSE, LinkKind, LinkRole, Status, Ticket, TicketLink

# the kinds that form a hierarchy: no cycles
ACYCLIC = (LinkKind.DUPLICATE_OF, LinkKind.PARENT_OF)
GRAPH_LIMIT = 1000  # tickets a cycle check walks at most


def _stored(ticket, other, role):
    """(source, target, kind) of a link `ticket` reads as `role` to `other`."""
    role = LinkRole(role)
    if role == LinkRole.RELATED:
        first, second = sorted((ticket, other), key=lambda t: t.pk)
        return first, second, LinkKind.RELATED
    if role.value in LinkKind.values:
        return ticket, other, LinkKind(role.value)
    return other, ticket, LinkKind(LINK_INVERSE[role].value)


def _reaches(start_id, goal_id, kind) -> bool:
    """Whether `goal_id` is reachable from `start_id` along `kind` links (source → target)."""
    seen, frontier = {start_id}, {start_id}
    while frontier and len(seen) < GRAPH_LIMIT:
        nxt = set(
            TicketLink.objects.filter(kind=kind, source_id__in=frontier).values_list(
                "target_id", flat=True
            )
        )
        if goal_id in nxt:
            return True
        frontier = nxt - seen
        seen |= nxt
    return False


def _check(source, target, kind):
    if source.pk == target.pk:
        raise ValidationError({"ticket": _("A ticket cannot be linked to itself.")})
    if kind in ACYCLIC and _reaches(target.pk, source.pk, kind):
        raise ValidationError(
            {"ticket": _("This link would make a circle (%(a)s and %(b)s).")
             % {"a": source.number, "b": target.number}}
        )  # fmt: skip
    if kind == LinkKind.DUPLICATE_OF:
        if source.organization_id != target.organization_id:
            raise ValidationError(
                {"ticket": _("A duplicate belongs to the same organisation as the original.")}
            )
        original = TicketLink.objects.filter(source=source, kind=kind).first()
        if original is not None and original.target_id != target.pk:
            raise ValidationError(
                {"ticket": _("%(number)s is already marked as the duplicate of another ticket.")
                 % {"number": source.number}}
            )  # fmt: skip
    if kind == LinkKind.PARENT_OF:
        parent = TicketLink.objects.filter(target=target, kind=kind).first()
        if parent is not None and parent.source_id != source.pk:
            raise ValidationError(
                {"ticket": _("%(number)s has a parent ticket already.") % {"number": target.number}}
            )


def _audit(ticket, actor, action, link, other, role):
    """An audit entry on `ticket` naming the other ticket and the link as read from `ticket`."""
    if action == "link_added":
        changes = {"link": [None, other.number], "link_kind": [None, str(role)]}
    else:
        changes = {"link": [other.number, None], "link_kind": [str(role), None]}
    services.record_audit(ticket, actor, action, changes, obj=link)


@transaction.atomic
def add_link(ticket: Ticket, actor, other: Ticket, role: str) -> tuple[TicketLink, bool]:
    """Link `ticket` to `other` as `role` (read from `ticket`'s side; inverse roles are stored
    the other way round). Returns (link, created); the same link twice is no error."""
    require_staff(actor, _("Only the service desk links tickets."))
    services._require_can_see(ticket, actor)
    if role not in LinkRole.values:
        raise ValidationError({"kind": _("Choose how the tickets are linked.")})
    source, target, kind = _stored(ticket, other, role)
    existing = TicketLink.objects.filter(source=source, target=target, kind=kind).first()
    if existing is not None:
        return existing, False
    _check(source, target, kind)
    if kind == LinkKind.DUPLICATE_OF and source.status != Status.CLOSED and not is_worker(actor):
        raise PermissionDenied(_("Only the service desk closes a duplicate."))
    try:
        with transaction.atomic():
            link = TicketLink.objects.create(
                source=source, target=target, kind=kind, created_by=actor,
                created_at=timezone.now(),
            )  # fmt: skip
    except IntegrityError:  # a concurrent twin
        raise ValidationError({"ticket": _("These tickets were just linked.")}) from None
    _audit(source, actor, "link_added", link, target, kind)
    _audit(target, actor, "link_added", link, source, LINK_INVERSE[LinkRole(kind)])
    if kind == LinkKind.DUPLICATE_OF:
        _close_duplicate(source, target, actor)
    return link, True


def _close_duplicate(duplicate, original, actor):
    """The duplicate closes with a public pointer to the original; its reporter follows the
    original (as a watcher) unless they are its reporter already."""
    reporter = duplicate.reporter
    if reporter.is_customer and reporter.pk != original.reporter_id:
        participation.add_watcher(original, None, reporter)
    if duplicate.status == Status.CLOSED:
        return
    if duplicate.status == Status.NEW:
        services.take(duplicate, actor)
    with translation.override(reporter.language or None):
        note = _(
            "Closed as a duplicate of %(number)s: the work continues there, and you are told "
            "how it goes."
        ) % {"number": original.number}
    services.transition(duplicate, None, Status.CLOSED, note=note)


@transaction.atomic
def remove_link(ticket: Ticket, actor, link: TicketLink) -> None:
    """Remove a link (audited on both tickets). A closed duplicate stays closed."""
    require_staff(actor, _("Only the service desk links tickets."))
    services._require_can_see(ticket, actor)
    if ticket.pk not in (link.source_id, link.target_id):
        raise ValidationError({"link": _("This link is not one of this ticket's.")})
    source, target = link.source, link.target
    _audit(source, actor, "link_removed", link, target, link.kind)
    _audit(target, actor, "link_removed", link, source, LINK_INVERSE[LinkRole(link.kind)])
    link.delete()


def find_ticket(user, *, pk=None, number=None):
    """The ticket a link names, by id (the API) or number (the page), among those `user` sees;
    None otherwise."""
    visible = Ticket.objects.visible_to(user)
    if pk is not None:
        pk = parse_id(pk)
        return visible.filter(pk=pk).first() if pk is not None else None
    number = (number or "").strip()
    if not number or len(number) > 20:
        return None
    return visible.filter(number__iexact=number).first()


# --- reading -------------------------------------------------------------------------------------


def _visible_links(user):
    qs = TicketLink.objects.all()
    if user is not None and not user.is_provider_staff:
        visible = Ticket.objects.visible_to(user)
        qs = qs.filter(source__in=visible, target__in=visible)
    return qs


def with_links(queryset, user):
    """A page of tickets with their links (both directions), two queries whatever the rows."""
    links = _visible_links(user)
    return queryset.prefetch_related(
        Prefetch("links_out", queryset=links.select_related("target"), to_attr="visible_links_out"),
        Prefetch("links_in", queryset=links.select_related("source"), to_attr="visible_links_in"),
    )


def links_of(ticket, user):
    """The ticket's links `user` may see, each as {link, role, label, ticket}, in the order
    they were made."""
    out = getattr(ticket, "visible_links_out", None)
    incoming = getattr(ticket, "visible_links_in", None)
    if out is None or incoming is None:
        # One ticket: its links first (most have none), then, for a customer, which of the
        # tickets at their other ends they may see; cheaper than _visible_links' subqueries.
        rows = list(
            TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket)).select_related(
                "source", "target"
            )
        )
        if rows and user is not None and not user.is_provider_staff:
            ends = {pk for link in rows for pk in (link.source_id, link.target_id)}
            seen = set(
                Ticket.objects.visible_to(user).filter(pk__in=ends).values_list("pk", flat=True)
            )
            rows = [link for link in rows if {link.source_id, link.target_id} <= seen]
    else:
        rows = sorted([*out, *incoming], key=lambda link: (link.created_at, link.pk))
    result = []
    for link in rows:
        role = link.role_from(ticket.pk)
        result.append(
            {"link": link, "role": role, "label": role.label, "ticket": link.other(ticket.pk)}
        )
    return result
