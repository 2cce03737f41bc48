"""The time entry form on the ticket page; the rules are in billing/services.py."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.forms import OwnIds, UserChoiceField, worker_users

from . import services
from .models import MINUTES_MAX, MINUTES_MIN, Category


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
