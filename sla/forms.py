from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from pim import inputs
from pim.models import Organization
from tickets.forms import DateTimeLocalInput, OwnIds

from .majorchange import ACTIONS


class MonthField(forms.Field):
    """A month as YYYY-MM (the value of an <input type="month">), within the supported range."""

    def to_python(self, value):
        value = value.strip() if isinstance(value, str) else value
        if value in self.empty_values:
            return None
        month = inputs.parse_month(value)
        if month is None:
            raise forms.ValidationError(inputs.month_message(), code="invalid")
        return month


class OrganizationFilterForm(forms.Form):
    """A report page's organisation select, its choices those the viewer may see."""

    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.none(), required=False
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class ComplianceFilterForm(OrganizationFilterForm):
    """The filters of the compliance page; an invalid value is shown on the page (400)."""

    since = MonthField(label=_("From month"), required=False)
    field_order = ["since", "organization"]


class NoAccessForm(OwnIds, forms.Form):
    id_prefix = "no_access"

    start_at = inputs.DateTimeFormField(label=_("No access from"), widget=DateTimeLocalInput)
    end_at = inputs.DateTimeFormField(label=_("until"), widget=DateTimeLocalInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=inputs.SHORT_NOTE_MAX)


class SlaNotApplicableForm(OwnIds, forms.Form):
    id_prefix = "sla_na"

    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("For example: caused outside the agreed scope, or no access given."),
    )


class OutageForm(OwnIds, forms.Form):
    """An incident marks an outage of its service: empty times take the defaults."""

    id_prefix = "outage"

    starts_at = inputs.DateTimeFormField(
        label=_("Outage from"),
        widget=DateTimeLocalInput,
        required=False,
        help_text=_("Empty: the moment the incident was reported."),
    )
    ends_at = inputs.DateTimeFormField(
        label=_("until"),
        widget=DateTimeLocalInput,
        required=False,
        help_text=_("Empty: the moment the service was restored (the restore clock)."),
    )


class AvailabilityFilterForm(forms.Form):
    """The filters of the availability page; an invalid value is shown on the page (400)."""

    month = MonthField(label=_("Month"), required=False)
    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.none(), required=False
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class RouteStepForm(forms.Form):
    """A step of a Major Change route on /sla/documents/ (the page builds one form per step
    and version with its own ids; what each field means depends on the step)."""

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("Reason or note"),
        required=False,
        max_length=inputs.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    day = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and not (inputs.EARLIEST.date() <= day < date(8999, 12, 31)):
            raise forms.ValidationError(inputs.instant_range_message(), code="out_of_range")
        return day


class SlaChangeRequestForm(OwnIds, forms.Form):
    """An authorised contact asks for a change of the SLA (it becomes a question ticket)."""

    id_prefix = "sla_change"

    title = forms.CharField(label=_("What should change?"), max_length=150)
    description = forms.CharField(
        label=_("Explain the change you would like and why"),
        max_length=inputs.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ReportFilterForm(OrganizationFilterForm):
    """The filter of the monthly reports' list (provider staff); an invalid value answers 400."""


class DashboardFilterForm(OrganizationFilterForm):
    """The dashboard's month and (provider staff) organisation; an invalid value is shown on
    the page (400)."""

    month = MonthField(label=_("Month"), required=False)
    field_order = ["month", "organization"]


class ReportGenerateForm(OwnIds, OrganizationFilterForm):
    """Provider staff (re)generate an organisation's report of an ended month."""

    id_prefix = "report_generate"

    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.none(), empty_label=_("— choose —")
    )
    month = MonthField(label=_("Month"))
    confirm = forms.BooleanField(
        label=_("Yes, (re)generate this report: an existing report's files are replaced"),
    )
