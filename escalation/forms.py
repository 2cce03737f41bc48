from django import forms
from django.utils.translation import gettext_lazy as _

from pim import inputs


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you escalate this ticket?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=inputs.ESCALATION_REASON_MAX,
    )
