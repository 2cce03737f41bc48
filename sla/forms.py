from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.forms import DateTimeLocalInput


class NoAccessForm(forms.Form):
    start_at = forms.DateTimeField(label=_("No access from"), widget=DateTimeLocalInput)
    end_at = forms.DateTimeField(label=_("until"), widget=DateTimeLocalInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class SlaNotApplicableForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("For example: caused outside the agreed scope, or no access given."),
    )
