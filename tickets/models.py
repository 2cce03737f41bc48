"""Tickets of four kinds, their updates, attachments, priority history and audit trail."""

from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from pim import inputs, uploads
from pim.models import Location, Organization, Service
from pim.permissions import is_customer, is_customer_user
from pim.scoping import organization_filter, own_tickets_filter


class Kind(models.TextChoices):
    INCIDENT = "incident", _("Incident")
    CHANGE = "change", _("Change")
    PROBLEM = "problem", _("Problem")
    QUESTION = "question", _("Question")


KIND_PREFIX = {
    Kind.INCIDENT: "INC",
    Kind.CHANGE: "CHG",
    Kind.PROBLEM: "PRB",
    Kind.QUESTION: "QST",
}


class Status(models.TextChoices):
    NEW = "new", _("New")
    PLANNED_INTERNAL = "planned_internal", _("Planned internal")
    PLANNED_EXTERNAL = "planned_external", _("Planned external")
    WAITING_FOR_CUSTOMER = "waiting_for_customer", _("Waiting for customer")
    RESPONSE_RECEIVED = "response_received", _("Response received")
    WAITING_FOR_SUPPLIER = "waiting_for_supplier", _("Waiting for supplier")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = frozenset(Status) - {Status.RESOLVED, Status.CLOSED}
# The statuses a ticket with a workaround in place continues in (services.record_workaround).
WORKAROUND_STATUSES = (Status.PLANNED_INTERNAL, Status.WAITING_FOR_SUPPLIER)
WORKAROUND_STATUS_CHOICES = [(s.value, s.label) for s in WORKAROUND_STATUSES]
# A customer's "open" tickets: not closed yet (a resolved one waits for their confirmation).
NOT_CLOSED_STATUSES = frozenset(Status) - {Status.CLOSED}


class Priority(models.IntegerChoices):
    P1 = 1, _("P1 – communication down")
    P2 = 2, _("P2 – 51 % or more down")
    P3 = 3, _("P3 – 50 % or less down")
    P4 = 4, _("P4 – one or a few workplaces")
    P5 = 5, _("P5 – changes only")


INCIDENT_PRIORITIES = (1, 2, 3, 4)


class ChangePriority(models.IntegerChoices):
    """A change's priority in its own words: the pickup target (SPEC §4), no outage words."""

    P1 = 1, _("P1 – picked up the same working day")
    P2 = 2, _("P2 – picked up within 24 hours")
    P3 = 3, _("P3 – picked up within 3 working days")
    P4 = 4, _("P4 – picked up within 4 working days")
    P5 = 5, _("P5 – picked up within 5 working days")


def priority_words(kind):
    """The priority choices in the words of a ticket kind."""
    return ChangePriority if kind == Kind.CHANGE else Priority


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    MONITORING = "monitoring", _("Monitoring")
    API = "api", _("API")


class ResolutionType(models.TextChoices):
    TEMPORARY = "temporary", _("Temporary fix (workaround)")
    DEFINITIVE = "definitive", _("Definitive fix")


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The tenant choke point: staff see all, authorised contacts their organisation,
        customer users their own tickets. Problems are provider-internal (SPEC §7): no
        customer sees one, whatever its organisation."""
        qs = self.filter(organization_filter(user))
        if is_customer(user):
            qs = qs.exclude(kind=Kind.PROBLEM)
        if is_customer_user(user):
            watched = TicketWatcher.objects.filter(user=user).values("ticket_id")
            qs = qs.filter(own_tickets_filter(user, watched))
        return qs

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)


class TicketChildQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(ticket__in=Ticket.objects.visible_to(user))


class WritesUnscoped:
    """create() and bulk_create() of a scoped manager: django-scopes filters what a manager
    reads by the active organisation, and builds that filter (a join to the ticket's
    organisation) for every call, writes included, where it guards nothing: a row is written
    as given, in or out of scope, as before. Reads (get_or_create too) stay scoped."""

    def _unscoped(self):
        return self._queryset_class(model=self.model, using=self._db, hints=self._hints)

    def create(self, **kwargs):
        return self._unscoped().create(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        return self._unscoped().bulk_create(objs, *args, **kwargs)


TicketManager = ScopedManager(
    organization="organization",
    _manager_class=type(
        "TicketBaseManager", (WritesUnscoped, models.Manager.from_queryset(TicketQuerySet)), {}
    ),
).__class__
TicketChildManager = ScopedManager(
    organization="ticket__organization",
    _manager_class=type(
        "TicketChildBaseManager",
        (WritesUnscoped, models.Manager.from_queryset(TicketChildQuerySet)),
        {},
    ),
).__class__


class Ticket(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.P3
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.NEW
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.PORTAL
    )
    # organization, reporter, assignee: the composite indexes below lead with them
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("organisation"),
        db_index=False,
    )
    service = models.ForeignKey(
        Service, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("service")
    )
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("location")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reported_tickets",
        verbose_name=_("reporter"),
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
        db_index=False,
    )
    reported_at = models.DateTimeField(_("reported at"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    wish_date = models.DateTimeField(
        _("wish date"),
        null=True,
        blank=True,
        help_text=_("Planned external: the date the customer asked us to continue."),
    )
    # Resolution details (SPEC §3.2, seed §4.9); required to resolve an incident.
    resolution_type = models.CharField(
        _("resolution"), max_length=16, choices=ResolutionType.choices, blank=True
    )
    resolution_cause = models.TextField(_("cause"), blank=True)
    resolution_how = models.TextField(_("how it was fixed"), blank=True)
    resolution_follow_up = models.TextField(_("follow-up actions"), blank=True)
    # A workaround (SPEC §4: restore, the emergency scenario) stops the restore clock; the
    # ticket stays open until the definitive fix resolves it.
    workaround_at = models.DateTimeField(_("workaround in place since"), null=True, blank=True)
    workaround_text = models.TextField(_("workaround"), blank=True)
    # SLA (filled by the SLA engine).
    sla_not_applicable = models.BooleanField(_("SLA not applicable"), default=False)
    sla_not_applicable_reason = models.CharField(_("reason"), max_length=300, blank=True)
    next_sla_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The SLA summary (written by sla whenever a clock changes; lists read these columns):
    # the most urgent live due time (running, unpaused clocks) and the worst clock state.
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True, editable=False)
    sla_state = models.CharField(_("SLA state"), max_length=8, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Search (queries.search_filter), PostgreSQL only: what a customer may find (title,
    # description, public updates, reporter) and what only provider staff may find (internal
    # notes). Database triggers keep both current (migration 0009); the app never writes them.
    search_document = SearchVectorField(null=True, editable=False)
    search_internal = SearchVectorField(null=True, editable=False)

    objects = TicketManager()

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # Every list a person opens is served by an index at a million tickets (the plans are
        # in bench/api_scale.py): each list's filter, then its order with the id as tiebreaker.
        indexes = [
            # the agent list and the API's default order
            models.Index(fields=["-reported_at", "-id"], name="ticket_reported"),
            # an organisation's tickets (authorised contacts, the API's organization filter),
            # and its open ones (the portal list's default "open": not closed yet); the kind
            # lets a contact's counts (no problems) per month read the index alone (dashboard)
            models.Index(fields=["organization", "-reported_at", "-id", "kind"], name="ticket_org"),
            models.Index(
                fields=["organization", "-reported_at", "-id"],
                name="ticket_org_open",
                condition=models.Q(status__in=sorted(NOT_CLOSED_STATUSES)),
            ),
            models.Index(fields=["organization", "status", "-reported_at"]),
            # a customer user's "my tickets"
            models.Index(fields=["reporter", "-reported_at", "-id"], name="ticket_reporter"),
            # each API filter in the default order
            models.Index(fields=["status", "-reported_at", "-id"], name="ticket_status"),
            models.Index(fields=["priority", "-reported_at", "-id"], name="ticket_priority"),
            models.Index(fields=["kind", "-reported_at", "-id"], name="ticket_kind"),
            models.Index(fields=["assignee", "-reported_at", "-id"], name="ticket_assignee"),
            models.Index(fields=["sla_state", "-reported_at", "-id"], name="ticket_sla_state"),
            # the queue: open tickets, newest first or the soonest deadline first
            models.Index(
                fields=["-reported_at", "-id"],
                name="ticket_queue",
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
            ),
            # (and the soonest deadline first: ticket_queue_due, PostgreSQL only, migration 0006)
            # an agent's open tickets, the soonest deadline first (the saved view "My open")
            models.Index(
                fields=["assignee", "next_due_at"],
                name="ticket_queue_assignee",
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
            ),
            # the queue's filters by priority (the view "Unassigned P1/P2", an organisation's
            # P1/P2): the open tickets of a few priorities, then organisation or assignee
            models.Index(
                fields=["priority", "organization", "assignee"],
                name="ticket_queue_priority",
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
            ),
            # the API's other orderings (?ordering=…, the id breaks ties)
            models.Index(fields=["priority", "id"], name="ticket_by_priority"),
            models.Index(fields=["status", "id"], name="ticket_by_status"),
            models.Index(fields=["updated_at", "id"], name="ticket_by_updated"),
            # ?ordering=next_due_at / -next_due_at, NULLs last both ways: ticket_by_due and
            # ticket_by_due_desc (SQLite cannot index NULLS LAST: PostgreSQL only, migration 0006)
            # search: the number case-insensitively (on PostgreSQL also a trigram index on the
            # number for its last digits, and GIN indexes on the search documents, migration 0009)
            models.Index(Upper("number"), name="ticket_number_upper"),
            models.Index(
                fields=["next_sla_check_at"],
                name="ticket_next_sla_check",
                condition=models.Q(next_sla_check_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("ticket-detail", kwargs={"number": self.number})

    @property
    def priority_label(self):
        """The priority in the words of the ticket's kind (a change: its pickup target)."""
        try:
            return priority_words(self.kind)(self.priority).label
        except ValueError:
            return f"P{self.priority}"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def is_incident(self):
        return self.kind == Kind.INCIDENT

    @property
    def workaround_in_place(self):
        """A workaround runs while the definitive fix is awaited (an open ticket)."""
        return self.workaround_at is not None and self.is_open


class TicketSequence(models.Model):
    """The last number handed out per (kind, year); bumped atomically by services."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="ticket_sequence_kind_year")
        ]

    def __str__(self):
        return f"{self.kind} {self.year}: {self.last}"


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")


class TicketUpdate(models.Model):
    """A progress update (SPEC §3.3): what was done, next actions, expected resolution."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="updates", verbose_name=_("ticket")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
        help_text=_("Empty for updates the system posts."),
    )
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    body = models.TextField(_("what was done"))
    next_actions = models.TextField(_("next actions"), blank=True)
    expected_resolution_at = models.DateTimeField(_("expected resolution"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("update")
        verbose_name_plural = _("updates")

    def __str__(self):
        if self.created_at is None:
            return str(self.get_visibility_display())
        created = timezone.localtime(self.created_at)
        return f"{self.get_visibility_display()} · {created:%d-%m-%Y %H:%M}"

    @property
    def is_public(self):
        return self.visibility == Visibility.PUBLIC


def attachment_path(instance, filename):
    # The stored name is random; the original name is kept in the row.
    import uuid

    return f"{instance.ticket.organization_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    update = models.ForeignKey(
        TicketUpdate, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField(_("size"))
    internal = models.BooleanField(_("internal"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name

    @property
    def extension(self):
        return PurePath(self.original_name).suffix.lower().lstrip(".")

    @property
    def previewable(self):
        """An image the ticket page shows as a thumbnail (pim.uploads.PREVIEW_TYPES)."""
        return uploads.preview_key(self.extension) is not None


class SystemReason(models.TextChoices):
    """Reasons PIM gives itself, stored as codes and shown in the reader's language."""

    REGISTRATION = "registration", _("Priority at registration")


class PriorityChange(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="priority_changes")
    old_priority = models.PositiveSmallIntegerField(
        _("old priority"), choices=Priority.choices, null=True
    )
    new_priority = models.PositiveSmallIntegerField(_("new priority"), choices=Priority.choices)
    reason = models.TextField(_("reason"), blank=True)
    reason_code = models.CharField(
        _("system reason"), max_length=32, choices=SystemReason.choices, blank=True
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"))

    objects = TicketChildManager()

    class Meta:
        ordering = ["changed_at", "pk"]
        verbose_name = _("priority change")
        verbose_name_plural = _("priority history")

    def __str__(self):
        # The first row of a history has no old priority (the ticket was registered with it).
        old = f"P{self.old_priority}" if self.old_priority is not None else "—"
        return f"{old} → P{self.new_priority}"

    @property
    def reason_text(self):
        """The agent's reason, or a system reason in the reader's language."""
        if self.reason_code in SystemReason.values:
            return SystemReason(self.reason_code).label
        return self.reason


class AuditEntry(models.Model):
    """Who changed what on a ticket or one of its children, when (old → new)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), db_index=True)
    action = models.CharField(_("action"), max_length=40)
    object_type = models.CharField(_("object type"), max_length=40, default="ticket")
    object_id = models.BigIntegerField(_("object id"), null=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = TicketChildManager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")

    def __str__(self):
        return f"{timezone.localtime(self.at):%d-%m-%Y %H:%M}" if self.at else ""


class TicketWatcher(models.Model):
    """A colleague of the reporter's organisation who follows a ticket (CC): they see it and are
    told what the reporter is told (issue 12 item 2)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="watchers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="watched_tickets",
        verbose_name=_("watcher"),
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when e-mail intake added the watcher (a CC address)."),
    )
    added_at = models.DateTimeField(_("added at"))

    objects = TicketChildManager()

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name = _("watcher")
        verbose_name_plural = _("watchers")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="one_watch_per_user")
        ]
        indexes = [models.Index(fields=["user", "ticket"])]

    def __str__(self):
        return f"{self.user} watches {self.ticket_id}"


class SatisfactionRating(models.Model):
    """The reporter's rating of a closed ticket (issue 12 item 11): once per ticket, kept with
    the agent who handled it, for the managers' dashboard."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="satisfaction_rating"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"))

    objects = TicketChildManager()

    class Meta:
        ordering = ["-rated_at", "-pk"]
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        # the ratings of a period: the dashboard's year, the monthly report, `rated=` drill-downs
        indexes = [models.Index(fields=["rated_at"], name="rating_rated_at")]
        constraints = [
            models.CheckConstraint(
                name="satisfaction_score_1_to_5",
                condition=models.Q(score__gte=1, score__lte=5),
            )
        ]

    def __str__(self):
        return f"{self.ticket_id}: {self.score}"


# --- the agent queue's saved views and column choice (issue 15) ---------------------------------


class QueueView(models.Model):
    """A filter and sort of the queue an agent saved under a name; private to its owner. The
    shared views ("My open", "Breached", …) are presets in code (tickets/queue_views.py)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="queue_views",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=60)
    # the queue's query string (filters and sort), as the page's form sends it
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("saved queue view")
        verbose_name_plural = _("saved queue views")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="queue_view_unique_name")
        ]

    def __str__(self):
        return self.name


class QueueColumns(models.Model):
    """The columns a user chose for the queue (comma-separated keys of queue_views.COLUMNS)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_columns"
    )
    columns = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("queue columns")
        verbose_name_plural = _("queue columns")

    def __str__(self):
        return f"{self.user_id}: {self.columns}"


# --- exports of the ticket lists (issue 17 item 4, tickets/exports.py) -------------------------


class ExportList(models.TextChoices):
    QUEUE = "queue", _("Queue")
    TICKETS = "tickets", _("Tickets")
    SEARCH = "search", _("Search results")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


def export_path(instance, filename):
    # A random stored name under exports/ (the attachments' storage, outside the web root);
    # the download names the file after the list and the moment.
    import uuid  # as attachment_path does

    return f"exports/{uuid.uuid4().hex}.{instance.format}"


class Export(models.Model):
    """A large export of a ticket list, written in the background (tickets.tasks.write_export);
    only its owner sees and downloads it, and the daily cleanup removes it and its file after
    `EXPORT_KEEP_DAYS`."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="ticket_exports",
        verbose_name=_("owner"),
    )
    list = models.CharField(_("list"), max_length=16, choices=ExportList.choices)
    # the list's query string (filters and sort), only the names the list reads
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    language = models.CharField(max_length=8)  # the headers' and values' language
    status = models.CharField(
        _("status"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(upload_to=export_path, max_length=300, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    # The relay (tickets.export_jobs.relay): how often the export was handed to a worker, the
    # run that holds it now (its writes count only while it does), and when the relay looks at
    # it next: a waiting export whose message got lost, or a running one whose progress stopped
    # (a dead worker). Empty once it is done or failed.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    relay_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [
            # the owner's list, newest first; the daily cleanup by expiry
            models.Index(fields=["owner", "-created_at"], name="ticket_export_owner"),
            models.Index(fields=["expires_at"], name="ticket_export_expiry"),
            # the relay's minute query: the waiting and running exports that are due
            models.Index(
                fields=["relay_at"],
                condition=models.Q(status__in=["pending", "running"]),
                name="ticket_export_relay",
            ),
        ]

    def __str__(self):
        return f"{self.list} {self.format} ({self.status})"

    def get_absolute_url(self):
        return reverse("export-detail", args=[self.pk])

    @property
    def finished(self):
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def percent(self):
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def filename(self):
        created = timezone.localtime(self.created_at)
        return f"{self.list}-{created:%Y%m%d-%H%M}.{self.format}"


class CannedResponse(models.Model):
    """A text module for the composer (issue 15 item 3), managed by staff in the admin. Its
    placeholders ({reporter_name}, {ticket_number}, {ticket_title}, {agent_name}) are filled
    for the ticket at hand by `tickets.canned.fill` (plain text, nothing else is evaluated)."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(
        _("text"),
        max_length=inputs.CANNED_TEXT_MAX,
        help_text=_(
            "Placeholders: {reporter_name}, {ticket_number}, {ticket_title}, {agent_name}."
        ),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="nl"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["language", "title", "pk"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")

    def __str__(self):
        return f"{self.title} ({self.language})"


# --- links between tickets (issue 16 item 6) ----------------------------------------------------


class LinkKind(models.TextChoices):
    """How a link is stored: from its `source` ticket to its `target`."""

    RELATED = "related", _("Related to")
    CAUSED_BY = "caused_by", _("Caused by")
    DUPLICATE_OF = "duplicate_of", _("Duplicate of")
    PARENT_OF = "parent_of", _("Parent of")


class LinkRole(models.TextChoices):
    """How a link reads from one of its two tickets (the target reads the inverse)."""

    RELATED = "related", _("Related to")
    CAUSED_BY = "caused_by", _("Caused by")
    CAUSES = "causes", _("Causes")
    DUPLICATE_OF = "duplicate_of", _("Duplicate of")
    DUPLICATED_BY = "duplicated_by", _("Has duplicate")
    PARENT_OF = "parent_of", _("Parent of")
    CHILD_OF = "child_of", _("Child of")


LINK_INVERSE = {
    LinkRole.RELATED: LinkRole.RELATED,
    LinkRole.CAUSED_BY: LinkRole.CAUSES,
    LinkRole.CAUSES: LinkRole.CAUSED_BY,
    LinkRole.DUPLICATE_OF: LinkRole.DUPLICATED_BY,
    LinkRole.DUPLICATED_BY: LinkRole.DUPLICATE_OF,
    LinkRole.PARENT_OF: LinkRole.CHILD_OF,
    LinkRole.CHILD_OF: LinkRole.PARENT_OF,
}


TicketLinkManager = ScopedManager(organization="source__organization").__class__


class TicketLink(models.Model):
    """Two tickets linked by provider staff (tickets.links): shown on both. A link may cross
    organisations (a related incident elsewhere); a customer sees only the links to tickets
    they may see. Related links are stored with the lower id as source (one row per pair)."""

    source = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="links_out", verbose_name=_("ticket")
    )
    target = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="links_in", verbose_name=_("linked ticket")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("at"))

    objects = TicketLinkManager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("ticket link")
        verbose_name_plural = _("ticket links")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="ticket_link_once_per_kind"
            ),
            models.CheckConstraint(
                name="ticket_link_not_to_itself", condition=~models.Q(source=models.F("target"))
            ),
            # a ticket is the duplicate of one original, and the child of one parent
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(kind="duplicate_of"),
                name="ticket_link_one_original",
            ),
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(kind="parent_of"),
                name="ticket_link_one_parent",
            ),
        ]
        indexes = [models.Index(fields=["target", "kind"])]

    def __str__(self):
        return f"{self.source_id} {self.kind} {self.target_id}"

    def role_from(self, ticket_id) -> str:
        """How the link reads from `ticket_id`'s side."""
        if ticket_id == self.source_id:
            return LinkRole(self.kind)
        return LINK_INVERSE[LinkRole(self.kind)]

    def other(self, ticket_id):
        return self.target if ticket_id == self.source_id else self.source
