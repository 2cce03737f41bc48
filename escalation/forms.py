from django import forms
from django.utils.translation import gettext_lazy as _


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you escalate this ticket?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
    )
