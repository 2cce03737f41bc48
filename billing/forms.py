"""The time entry form on the ticket page (the rules are in billing/services.py) and the
billing page's filters."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pim.models import Organization
from sla.forms import MonthField
from tickets.forms import OwnIds, UserChoiceField, worker_users

from . import services
from .models import BUNDLE_MAX_HOURS, MINUTES_MAX, MINUTES_MIN, Category


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeEntryForm(OwnIds, forms.Form):
    id_prefix = "time"

    user = UserChoiceField(label=_("Worked by"), queryset=None)
    worked_on = forms.DateField(label=_("Worked on"), widget=DateInput())
    minutes = forms.IntegerField(label=_("Minutes"), min_value=MINUTES_MIN, max_value=MINUTES_MAX)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    description = forms.CharField(
        label=_("What was done"),
        max_length=services.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, user=None, **kwargs):
        kwargs.setdefault("initial", {"user": user, "worked_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = worker_users()


class BillingFilterForm(forms.Form):
    """The month picker and (provider staff) the organisation of the billing page."""

    month = MonthField(label=_("Month"), required=False)
    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.none(), required=False
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class BundleFilterForm(forms.Form):
    """Provider staff choose whose bundle statement to read (an invalid value: 400)."""

    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=None, required=False)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class ThresholdForm(OwnIds, forms.Form):
    """An authorised contact's low-balance threshold (empty: no notice)."""

    id_prefix = "threshold"

    threshold_hours = forms.IntegerField(
        label=_("Tell us when fewer hours than this are left"),
        min_value=0,
        max_value=BUNDLE_MAX_HOURS,
        required=False,
        help_text=_("In hours; leave empty for no notice."),
    )
