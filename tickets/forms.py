"""HTML forms of the customer portal and the agent workspace.

Forms only parse and shape input; every business rule lives in tickets/services.py, whose
ValidationErrors are put back on these forms by the views (see `apply_errors`).
"""

from django import forms
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pim import inputs
from pim.inputs import DateTimeFormField
from pim.models import CUSTOMER_ROLES, WORKER_ROLES, Location, Organization, Service, User

from .bulk import BULK_MAX, BULK_STATUSES
from .models import (
    INCIDENT_PRIORITIES,
    WORKAROUND_STATUS_CHOICES,
    ChangePriority,
    Channel,
    Kind,
    LinkRole,
    Priority,
    ResolutionType,
    Status,
    Visibility,
)

# How a caller reached the service desk when an agent registers the ticket for them.
CALLER_CHANNELS = (Channel.PHONE, Channel.EMAIL, Channel.CHAT)

INCIDENT_PRIORITY_CHOICES = [(p, lbl) for p, lbl in Priority.choices if p in INCIDENT_PRIORITIES]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def apply_errors(form, exc):
    """Put a service-layer ValidationError on `form`: per field where the form has the field,
    otherwise as a non-field error (never raises for unknown keys)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


class OwnIds:
    """Several forms share the ticket page: each names its fields' ids after itself
    (id_transition_note, id_resolve_note, ...), so no id repeats and every label finds its
    field; the field names, and so what is posted, stay the same."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


def worker_users():
    return (
        User.objects.filter(membership__role__in=sorted(WORKER_ROLES), is_active=True)
        .order_by("first_name", "last_name", "username")
        .only("pk", "username", "first_name", "last_name")
    )


class UserChoiceField(forms.ModelChoiceField):
    """A person by full name. Its empty choice is the portal's words, not Django's generic
    "- Select an option -": "— choose —" when a person is required, "— not specified —" when
    not (a field may name its own)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "empty_label",
            _("— choose —") if kwargs.get("required", True) else _("— not specified —"),
        )
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


def callers_of(organization_id, search=""):
    """The people a ticket can be registered for: active customers of the organisation,
    optionally narrowed by a search on name, username or e-mail address."""
    qs = User.objects.filter(
        membership__organization_id=organization_id,
        membership__role__in=sorted(CUSTOMER_ROLES),
        is_active=True,
    )
    for word in (search or "").split()[:5]:
        qs = qs.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(email__icontains=word)
        )
    return qs.order_by("first_name", "last_name", "username").only(
        "pk", "username", "first_name", "last_name", "email"
    )


class CallerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name() or obj.username
        return f"{name} ({obj.email})" if obj.email else name


class CallerLookupForm(forms.Form):
    """The GET half of registering for a caller: the organisation chosen so far and a search
    for the caller; the create form narrows its callers, services and locations to them."""

    organization = forms.ModelChoiceField(
        queryset=Organization.objects.filter(is_active=True), required=False
    )
    caller_q = forms.CharField(required=False, max_length=inputs.SEARCH_MAX)


class TicketCreateForm(forms.Form):
    """File an incident (customers) or register one for a caller of a customer organisation
    (service desk staff: organisation first, then the caller, or a new contact)."""

    organization = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("— choose —"),
    )
    caller_q = forms.CharField(
        label=_("Find the caller"),
        required=False,
        max_length=inputs.SEARCH_MAX,
        help_text=_("Part of the name or e-mail address."),
    )
    caller = CallerChoiceField(
        label=_("Caller"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— a new contact (below) —"),
        help_text=_("The person who reports: they get the ticket number and follow the ticket."),
    )
    new_first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    new_last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    new_email = forms.EmailField(label=_("E-mail address"), required=False)
    new_phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    new_language = forms.ChoiceField(
        label=_("Language"), choices=settings.LANGUAGES, initial="nl", required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[c for c in Channel.choices if c[0] in CALLER_CHANNELS],
        initial=Channel.PHONE,
        required=False,
    )
    title = forms.CharField(label=_("Title"), max_length=inputs.TITLE_MAX)
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=inputs.DESCRIPTION_MAX,
        help_text=_("What happens, since when, who is affected, and what you already tried."),
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=INCIDENT_PRIORITY_CHOICES,
        coerce=int,
        initial=Priority.P3,
        widget=forms.RadioSelect,
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("— not specified —"),
    )
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("— not specified —"),
    )

    CALLER_FIELDS = ("caller_q", "caller", "new_first_name", "new_last_name", "new_email",
                     "new_phone", "new_language", "channel")  # fmt: skip

    def __init__(self, *args, user, organization=None, caller_q="", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.is_customer:
            org_id = user.organization_id_or_none
            for name in ("organization", *self.CALLER_FIELDS):
                del self.fields[name]
            self.fields["service"].queryset = Service.objects.filter(organization_id=org_id)
            self.fields["location"].queryset = Location.objects.filter(organization_id=org_id)
            return
        self.fields["description"].help_text = _(
            "In the caller's words: what happens, since when, who is affected, what they tried."
        )
        # the service desk registers an incident or a question for the caller (a change
        # request has its own form, /changes/new/)
        self.fields["kind"] = forms.ChoiceField(
            label=_("Kind"),
            choices=[(Kind.INCIDENT, Kind.INCIDENT.label), (Kind.QUESTION, Kind.QUESTION.label)],
            initial=Kind.INCIDENT,
            required=False,
            widget=forms.RadioSelect,
        )
        self.fields["organization"].required = True
        self.fields["organization"].queryset = Organization.objects.filter(is_active=True)
        # htmx: choosing the organisation reloads the caller fieldset for it
        self.fields["organization"].widget.attrs.update(
            {
                "hx-get": reverse("ticket-create"),
                "hx-trigger": "change",
                "hx-include": "#id_organization, #id_caller_q",
                "hx-target": "#caller-fields",
                "hx-select": "#caller-fields",
                "hx-swap": "outerHTML",
            }
        )
        org_id = organization.pk if organization is not None else self._posted_organization()
        self.organization_id = org_id
        # callers, services and locations follow the chosen organisation (none before)
        self.fields["caller"].queryset = (
            callers_of(org_id, "" if self.is_bound else caller_q) if org_id else User.objects.none()
        )
        self.fields["service"].queryset = Service.objects.filter(organization_id=org_id)
        self.fields["location"].queryset = Location.objects.filter(organization_id=org_id)

    def _posted_organization(self):
        if not self.is_bound:
            return None
        raw = self.data.get("organization") or ""
        if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
            return None
        pk = int(raw)
        return pk if 0 < pk <= inputs.MAX_ID else None

    def clean(self):
        data = super().clean()
        if self.user.is_customer or data.get("caller") is not None:
            return data
        new = {n: (data.get(n) or "").strip() for n in ("new_first_name", "new_last_name")}
        if not (new["new_first_name"] or new["new_last_name"]):
            self.add_error(
                "caller",
                _("Choose the caller, or fill in the new contact's name and e-mail address."),
            )
        elif not data.get("new_email"):
            self.add_error(
                "new_email", _("The new contact needs an e-mail address for the ticket number.")
            )
        return data

    def new_contact(self):
        """The new contact's details, or None when an existing caller was chosen."""
        data = self.cleaned_data
        if self.user.is_customer or data.get("caller") is not None:
            return None
        return {
            "first_name": data["new_first_name"].strip(),
            "last_name": data["new_last_name"].strip(),
            "email": data["new_email"],
            "phone": data["new_phone"].strip(),
            "language": data.get("new_language") or "nl",
        }


class UpdateForm(forms.Form):
    """A reply (customers) or a progress update (staff, public or internal)."""

    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=inputs.UPDATE_BODY_MAX,
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"),
        choices=Visibility.choices,
        initial=Visibility.PUBLIC,
        widget=forms.RadioSelect,
    )
    next_actions = forms.CharField(
        label=_("Next actions"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.NEXT_ACTIONS_MAX,
    )
    expected_resolution_at = DateTimeFormField(
        label=_("Expected resolution"), widget=DateTimeLocalInput, required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_provider_staff:
            for name in ("visibility", "next_actions", "expected_resolution_at"):
                del self.fields[name]
        else:
            self.fields["body"].label = _("What was done")


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern): cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        cleaned = []
        for item in data if isinstance(data, list | tuple) else [data]:
            if item:
                cleaned.append(super().clean(item, initial))
        return cleaned


COMPOSER_VISIBILITY_CHOICES = [
    (Visibility.PUBLIC, _("Public reply")),
    (Visibility.INTERNAL, _("Internal note")),
]


class ComposerForm(UpdateForm):
    """The composer at the top of the ticket page (issue 15 item 3): a reply or internal note,
    an optional status change and attachments in one submit (`services.compose`). Customers
    get the message and the files."""

    files = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Several files at once; you can also drag them onto this form."),
    )
    status = forms.ChoiceField(label=_("Status after sending"), required=False)
    wish_date = DateTimeFormField(
        label=_("Wish date"),
        widget=DateTimeLocalInput,
        required=False,
        help_text=_("Required for “Planned external”: when the customer wants us to continue."),
    )
    field_order = ["body", "visibility", "status", "files"]

    def __init__(self, *args, user, ticket=None, targets=(), **kwargs):
        kwargs.setdefault("auto_id", "id_composer_%s")
        super().__init__(*args, user=user, **kwargs)
        self.fields["body"].required = False  # a status change or files alone will do
        self.fields["body"].widget.attrs["data-shortcut"] = "r"  # "r" focuses it (shortcuts.js)
        if not user.is_provider_staff:
            del self.fields["status"], self.fields["wish_date"]
            self.fields["body"].label = _("Your reply")
            return
        self.fields["body"].label = _("Reply or internal note")
        self.fields["visibility"].choices = COMPOSER_VISIBILITY_CHOICES
        self.fields["status"].choices = [("", _("— unchanged —")), *targets]
        if not targets:
            del self.fields["status"], self.fields["wish_date"]


class AttachmentForm(OwnIds, forms.Form):
    id_prefix = "attach"

    file = forms.FileField(label=_("File"))
    internal = forms.BooleanField(label=_("Internal (service desk only)"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_provider_staff:
            del self.fields["internal"]


class AssignForm(OwnIds, forms.Form):
    id_prefix = "assign"

    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— unassigned —"),
        widget=forms.Select(attrs={"aria-label": _("Assignee")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = worker_users()


class PriorityForm(OwnIds, forms.Form):
    id_prefix = "priority"

    priority = forms.TypedChoiceField(label=_("New priority"), choices=Priority.choices, coerce=int)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=inputs.REASON_MAX
    )

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        if ticket.kind == Kind.INCIDENT:
            self.fields["priority"].choices = INCIDENT_PRIORITY_CHOICES
        elif ticket.kind == Kind.CHANGE:
            self.fields["priority"].choices = ChangePriority.choices


class TransitionForm(OwnIds, forms.Form):
    """Move a ticket. The state machine (services.transition) decides what is legal."""

    id_prefix = "transition"

    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    note = forms.CharField(
        label=_("Note to the customer"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.UPDATE_BODY_MAX,
        help_text=_("Optional; posted as a public update."),
    )
    wish_date = DateTimeFormField(
        label=_("Wish date"),
        widget=DateTimeLocalInput,
        required=False,
        help_text=_("Required for “Planned external”: when the customer wants us to continue."),
    )


WORKAROUND_IS_NOT_A_RESOLUTION = _(
    "A workaround does not resolve a ticket: record it with “Record a workaround”, which keeps "
    "the ticket open, and resolve the ticket with the definitive fix."
)


class WorkaroundForm(OwnIds, forms.Form):
    """A workaround is in place: the restore clock stops, the ticket stays open."""

    id_prefix = "workaround"

    text = forms.CharField(
        label=_("Workaround"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=inputs.RESOLUTION_TEXT_MAX,
        help_text=_("What works for now; the customer reads it as an update."),
    )
    status = forms.ChoiceField(
        label=_("Continue in"),
        choices=WORKAROUND_STATUS_CHOICES,
        initial=Status.PLANNED_INTERNAL,
    )


class ResolveForm(OwnIds, forms.Form):
    """Resolve a ticket with the definitive fix; an incident records how (SPEC §3.2, seed
    §4.9). A workaround is an action of its own (WorkaroundForm): it does not resolve."""

    id_prefix = "resolve"

    status = forms.CharField(widget=forms.HiddenInput, initial=Status.RESOLVED, max_length=30)
    resolution_type = forms.ChoiceField(
        label=_("Resolution"),
        choices=[(ResolutionType.DEFINITIVE.value, ResolutionType.DEFINITIVE.label)],
        initial=ResolutionType.DEFINITIVE,
        widget=forms.RadioSelect,
        required=False,
        # The only other value, "temporary", is the workaround action now.
        error_messages={"invalid_choice": WORKAROUND_IS_NOT_A_RESOLUTION},
    )
    resolution_cause = forms.CharField(
        label=_("Cause"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.RESOLUTION_TEXT_MAX,
    )
    resolution_how = forms.CharField(
        label=_("How it was fixed"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.RESOLUTION_TEXT_MAX,
    )
    resolution_follow_up = forms.CharField(
        label=_("Follow-up actions"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.RESOLUTION_TEXT_MAX,
        help_text=_("What remains to be done after the fix, if anything."),
    )
    resolved_at = DateTimeFormField(
        label=_("Resolved at"),
        widget=DateTimeLocalInput,
        required=False,
        help_text=_("Leave empty for now."),
    )
    note = forms.CharField(
        label=_("Note to the customer"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.UPDATE_BODY_MAX,
    )

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        if ticket.kind == Kind.INCIDENT:
            for name in ("resolution_type", "resolution_cause", "resolution_how"):
                self.fields[name].required = True

    def resolution(self):
        data = self.cleaned_data
        return {
            name: data.get(name) or ""
            for name in (
                "resolution_type",
                "resolution_cause",
                "resolution_how",
                "resolution_follow_up",
            )
        } | ({"resolved_at": data["resolved_at"]} if data.get("resolved_at") else {})


class NotResolvedForm(OwnIds, forms.Form):
    id_prefix = "not_resolved"

    note = forms.CharField(
        label=_("What is still wrong?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.UPDATE_BODY_MAX,
    )


# --- list filters ---------------------------------------------------------------------------


class CustomerListFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Show"),
        choices=[("open", _("Open")), ("closed", _("Closed")), ("all", _("All"))],
        required=False,
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=inputs.SEARCH_MAX)


# --- watchers, withdrawal, rating (issue 12) ---------------------------------------------------


class WatcherForm(OwnIds, forms.Form):
    id_prefix = "watcher"

    user = UserChoiceField(
        label=_("Colleague"), queryset=User.objects.none(), empty_label=_("— choose a colleague —")
    )

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        if candidates is not None:
            self.fields["user"].queryset = candidates


class WithdrawForm(OwnIds, forms.Form):
    id_prefix = "withdraw"

    reason = forms.CharField(
        label=_("Why do you withdraw it? (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.REASON_MAX,
    )


class RatingForm(OwnIds, forms.Form):
    id_prefix = "rating"

    score = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(s, str(s)) for s in (1, 2, 3, 4, 5)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("1 is poor, 5 is excellent."),
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.REASON_MAX,
    )


class LinkForm(OwnIds, forms.Form):
    """Link this ticket to another by its number (provider staff; tickets.links)."""

    id_prefix = "link"

    kind = forms.ChoiceField(label=_("This ticket is"), choices=LinkRole.choices)
    number = forms.CharField(
        label=_("Ticket number"),
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "INC-2026-00012"}),
    )


class TicketNumbersField(forms.Field):
    """The selected rows' ticket numbers (a checkbox per row, all named alike)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Select the tickets first."),
        "too_many": _("Select at most %(max)d tickets at once."),
        "invalid": _("That is not a ticket number."),
    }

    def __init__(self, *args, max_count, **kwargs):
        self.max_count = max_count
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        numbers = list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))
        if any(len(n) > 20 for n in numbers):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return numbers

    def validate(self, value):
        super().validate(value)
        if len(value) > self.max_count:
            raise forms.ValidationError(
                self.error_messages["too_many"] % {"max": self.max_count}, code="too_many"
            )


class BulkForm(forms.Form):
    """One action for the queue's selected rows (tickets.bulk), with one reason."""

    ACTIONS = [
        ("take", _("Take")),
        ("assign", _("Assign to")),
        ("status", _("Change status to")),
        ("priority", _("Change priority to")),
    ]

    tickets = TicketNumbersField(max_count=BULK_MAX)
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    assignee = UserChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label="—"
    )
    status = forms.ChoiceField(label=_("New status"), required=False)
    priority = forms.TypedChoiceField(
        label=_("New priority"),
        choices=[("", "—"), *INCIDENT_PRIORITY_CHOICES, (5, Priority(5).label)],
        coerce=int,
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.REASON_MAX,
        help_text=_(
            "Required for a priority change. With a status change it is posted to the customer "
            "as the note."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = worker_users()
        self.fields["status"].choices = [("", "—"), *((s.value, s.label) for s in BULK_STATUSES)]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("Choose who gets the tickets."))
        if action == "status" and not data.get("status"):
            self.add_error("status", _("Choose the new status."))
        if action == "priority":
            if not data.get("priority"):
                self.add_error("priority", _("Choose the new priority."))
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Say why the priority changes."))
        return data


class QuestionForm(forms.Form):
    """A customer's short question or service request."""

    title = forms.CharField(label=_("Your question in a few words"), max_length=inputs.TITLE_MAX)
    description = forms.CharField(
        label=_("Your question"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=inputs.DESCRIPTION_MAX,
        help_text=_("Ask what you want to know, or what you need us to arrange."),
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("— not specified —"),
    )

    def __init__(self, *args, organization_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organization_id=organization_id)
