"""The review's forms on the ticket page; the rules are in reviews/services.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.forms import OwnIds, UserChoiceField

from . import services


def _text(label, name, required=True, rows=3):
    return forms.CharField(
        label=label,
        required=required,
        max_length=services.TEXT_MAX[name],
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class ReviewForm(OwnIds, forms.Form):
    id_prefix = "review"

    timeline = _text(_("Timeline"), "timeline", rows=5)
    cause = _text(_("Cause"), "cause")
    impact = _text(_("Impact"), "impact")
    went_well = _text(_("What went well"), "went_well", required=False)
    went_wrong = _text(_("What went wrong"), "went_wrong", required=False)
    published = forms.BooleanField(
        label=_("Published: the organisation's authorised contacts read it"), required=False
    )


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ReviewActionForm(OwnIds, forms.Form):
    id_prefix = "review_action"

    description = forms.CharField(
        label=_("Action"), max_length=services.ACTION_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = UserChoiceField(label=_("Owner"), queryset=None)
    due = forms.DateField(label=_("Due"), widget=DateInput())

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = services.owner_candidates(ticket).order_by(
            "first_name", "last_name", "username"
        )
