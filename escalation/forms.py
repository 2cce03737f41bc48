from django import forms
from django.utils.translation import gettext_lazy as _

from pim import inputs

from .models import CustomerEvent
from .preferences import SWITCHABLE_EVENTS


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you escalate this ticket?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=inputs.ESCALATION_REASON_MAX,
    )


class NotificationPreferenceForm(forms.Form):
    """The account page's preferences: the channels, and a switch per switchable event."""

    by_email = forms.BooleanField(label=_("By e-mail"), required=False)
    in_app = forms.BooleanField(label=_("In the portal (the bell)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for event in SWITCHABLE_EVENTS:
            self.fields[f"event_{event}"] = forms.BooleanField(
                label=CustomerEvent(event).label, required=False
            )

    def events(self):
        return {str(e): self.cleaned_data[f"event_{e}"] for e in SWITCHABLE_EVENTS}
