from django import forms
from django.utils.translation import gettext_lazy as _

from pim import inputs
from pim.models import Organization
from tickets.forms import INCIDENT_PRIORITY_CHOICES

from .models import InboundStatus

STATUS_FILTER_CHOICES = [("all", _("All"))] + list(InboundStatus.choices)


class TriageFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=STATUS_FILTER_CHOICES, required=False, initial="held"
    )


class CreateTicketForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organization.objects.filter(is_active=True),
        empty_label=_("Choose the organisation"),
    )
    title = forms.CharField(label=_("Title"), max_length=inputs.TITLE_MAX, required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=INCIDENT_PRIORITY_CHOICES, coerce=int, initial=3
    )


class DiscardForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=inputs.SHORT_NOTE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. spam, sent to us by mistake")}),
    )
