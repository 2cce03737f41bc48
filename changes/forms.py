"""The forms of the change path: the change request a customer files, and one form per step on
the ticket page (each posts its `action`; changes.services decides what is allowed)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pim import inputs
from pim.inputs import DateTimeFormField
from pim.models import Organization, Service, User
from tickets.forms import CALLER_CHANNELS, CallerChoiceField, DateTimeLocalInput, callers_of
from tickets.models import Attachment, Channel

from .models import ESTIMATE_MAX, ChangeType

# What each priority of a change means (SPEC §4: the pickup targets, seed §5.1).
CHANGE_PRIORITY_CHOICES = [
    (1, _("P1 – picked up the same working day (urgent: costs may apply)")),
    (2, _("P2 – picked up within 24 hours (urgent: costs may apply)")),
    (3, _("P3 – picked up within 3 working days")),
    (4, _("P4 – picked up within 4 working days")),
    (5, _("P5 – picked up within 5 working days")),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def validate_day(value):
    if value is not None and not (
        inputs.EARLIEST.date() <= value < inputs.LATEST.date().replace(year=8999)
    ):
        raise forms.ValidationError(inputs.instant_range_message(), code="out_of_range")


class ChangeRequestForm(forms.Form):
    """A customer's change request: what, why, the wished date, the services concerned."""

    title = forms.CharField(
        label=_("What do you want changed?"),
        max_length=inputs.TITLE_MAX,
        help_text=_("In a few words, e.g. “Add extension 215 to the reception group”."),
    )
    description = forms.CharField(
        label=_("Describe the change"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=inputs.DESCRIPTION_MAX,
        help_text=_("What should be different afterwards, for whom, and anything we must know."),
    )
    why = forms.CharField(
        label=_("Why"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=inputs.RESOLUTION_TEXT_MAX,
        help_text=_("The reason or the business need: it helps us classify the change."),
    )
    wished_date = forms.DateField(
        label=_("Wished date"),
        widget=DateInput,
        required=False,
        validators=[validate_day],
        help_text=_("When you would like it done; we confirm the planned date."),
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Services concerned"),
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=CHANGE_PRIORITY_CHOICES,
        coerce=int,
        initial=3,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, organization_id, staff=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.filter(
            organization_id=organization_id
        ).order_by("name")
        if staff:  # the service desk registers the change for a caller of an organisation
            self.fields = {**self.staff_fields(organization_id), **self.fields}

    @staticmethod
    def staff_fields(organization_id):
        return {
            "organization": forms.ModelChoiceField(
                label=_("Organisation"),
                queryset=Organization.objects.filter(is_active=True).order_by("name"),
                empty_label=_("— choose —"),
            ),
            "caller": CallerChoiceField(
                label=_("Caller"),
                queryset=callers_of(organization_id) if organization_id else User.objects.none(),
                empty_label=_("— choose —"),
                help_text=_(
                    "The person who asks for the change: they get the number and follow it."
                ),
            ),
            "channel": forms.ChoiceField(
                label=_("Channel"),
                choices=[c for c in Channel.choices if c[0] in CALLER_CHANNELS],
                initial=Channel.PHONE,
            ),
            "raised_from": forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=inputs.SEARCH_MAX
            ),
        }

    def clean(self):
        data = super().clean()
        caller, organization = data.get("caller"), data.get("organization")
        if (
            caller is not None
            and organization is not None
            and caller.organization_id_or_none != organization.pk
        ):
            self.add_error("caller", _("Choose a caller of the organisation."))
        return data

    def clean_wished_date(self):
        value = self.cleaned_data.get("wished_date")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError(_("The wished date lies in the past."))
        return value


class StepForm(forms.Form):
    """A step on the ticket page: its `action`, and ids unique on a page with many steps."""

    action_name = ""
    action = forms.CharField(widget=forms.HiddenInput, max_length=20)

    def __init__(self, *args, ticket=None, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.action_name}_%s")
        kwargs.setdefault("initial", {})["action"] = self.action_name
        super().__init__(*args, **kwargs)
        self.ticket = ticket

    def data_for_service(self):
        return {k: v for k, v in self.cleaned_data.items() if k != "action" and v not in ("",)}


def _note(label, required=True, help_text=""):
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=inputs.UPDATE_BODY_MAX,
        required=required,
        help_text=help_text,
    )


class ClassifyForm(StepForm):
    action_name = "classify"
    type = forms.ChoiceField(label=_("Type"), choices=ChangeType.choices)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=inputs.REASON_MAX
    )


class EstimateForm(StepForm):
    action_name = "estimate"
    estimate_minutes = forms.IntegerField(
        label=_("Estimate (minutes)"),
        min_value=1,
        max_value=ESTIMATE_MAX,
        help_text=_(
            "Under 45: done at once, then the customer's acceptance; 45 up to 240: an estimate "
            "the customer accepts first; over 240: a quote."
        ),
    )
    new_application = forms.BooleanField(
        label=_("A new application or form (always a quote)"), required=False
    )
    note = _note(_("Note to the customer"), required=False)


class OfferForm(StepForm):
    action_name = "offer"
    note = _note(
        _("What to check"),
        help_text=_("Where the customer finds the change on the acceptance environment."),
    )


class VerifyForm(StepForm):
    action_name = "verify"
    note = _note(_("Verification"), help_text=_("What was checked, assessed or consulted."))


class QuoteNoticeForm(StepForm):
    action_name = "quote_notice"
    free = forms.TypedChoiceField(
        label=_("Is the quote free of charge?"),
        choices=[("true", _("Yes, free of charge")), ("false", _("No, the costs need approval"))],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    date = forms.DateField(
        label=_("The quote comes on"),
        widget=DateInput,
        required=False,
        validators=[validate_day],
        help_text=_("Empty: the 10 days stand."),
    )
    note = _note(_("Note to the customer"), required=False)


class QuoteForm(StepForm):
    action_name = "quote"
    free = forms.TypedChoiceField(
        label=_("Free of charge?"),
        choices=[("true", _("Yes")), ("false", _("No"))],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(
        label=_("Amount (EUR)"), max_digits=12, decimal_places=2, min_value=0, required=False
    )
    attachment = forms.ModelChoiceField(
        label=_("Document"),
        queryset=Attachment.objects.none(),
        required=False,
        empty_label=_("— none —"),
        help_text=_("A file attached to this ticket that the customer sees."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.ticket is not None:
            self.fields["attachment"].queryset = Attachment.objects.filter(
                ticket=self.ticket, internal=False
            )

    def data_for_service(self):
        data = super().data_for_service()
        if data.get("attachment") is not None:
            data["attachment"] = data["attachment"].pk
        return data


class DecisionForm(StepForm):
    """Approve or reject (an authorised contact), or approve for the provider (a manager)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1,
                                 max_value=2**31 - 1)  # fmt: skip
    note = _note(_("Note"), required=False)


class ApproveForm(DecisionForm):
    action_name = "approve"


class RejectForm(DecisionForm):
    action_name = "reject"
    note = _note(_("Why do you reject it?"), required=False)


class ProviderApproveForm(DecisionForm):
    action_name = "provider_approve"


class ProviderRejectForm(DecisionForm):
    action_name = "provider_reject"
    note = _note(_("Why does the provider reject it?"))


class PlanForm(StepForm):
    action_name = "plan"
    planned_start = DateTimeFormField(label=_("Planned start"), widget=DateTimeLocalInput)
    planned_end = DateTimeFormField(label=_("Planned end"), widget=DateTimeLocalInput)


class StartForm(StepForm):
    action_name = "start"


class ProgressForm(StepForm):
    action_name = "progress"
    note = _note(_("Progress"), help_text=_("Posted as a public update."))


class CompleteForm(StepForm):
    action_name = "complete"
    note = _note(_("What was done"), help_text=_("Including test and acceptance, if agreed."))


class CancelForm(StepForm):
    action_name = "cancel"
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=inputs.REASON_MAX
    )


STEP_FORMS = {
    form.action_name: form
    for form in (
        ClassifyForm, EstimateForm, VerifyForm, QuoteNoticeForm, QuoteForm, ApproveForm,
        RejectForm, ProviderApproveForm, ProviderRejectForm, PlanForm, StartForm, ProgressForm,
        OfferForm, CompleteForm, CancelForm,
    )
}  # fmt: skip

# The button of each step, in the reader's language.
STEP_LABELS = {
    "classify": _("Classify"),
    "estimate": _("Record the estimate"),
    "verify": _("Record the verification"),
    "quote_notice": _("Send the quote notice"),
    "quote": _("Send a new version"),  # or, with the form's second button, save a draft
    "approve": _("Approve"),
    "reject": _("Reject"),
    "provider_approve": _("Approve for the provider"),
    "provider_reject": _("Reject for the provider"),
    "plan": _("Plan"),
    "start": _("Start the work"),
    "progress": _("Report progress"),
    "offer": _("Offer for acceptance"),
    "complete": _("Complete"),
    "cancel": _("Cancel the change"),
}
