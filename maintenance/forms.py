"""HTML forms for maintenance. They parse input; the rules live in maintenance/services.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from pim import inputs
from pim.inputs import DateTimeFormField
from pim.models import Organization, Service
from pim.scoping import organization_filter, visible_organizations
from tickets.forms import DateTimeLocalInput, apply_errors

from .models import Impact, Initiator, Kind, Status

__all__ = ["NoticeForm", "StatusUpdateForm", "SubscriptionForm", "apply_errors"]


class ServiceChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.organization.name} · {obj.name}"


class NoticeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.PREVENTIVE)
    title = forms.CharField(label=_("Title"), max_length=inputs.TITLE_MAX)
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=inputs.DESCRIPTION_MAX,
    )
    all_organizations = forms.BooleanField(label=_("All organisations"), required=False)
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organisations"),
        queryset=Organization.objects.filter(is_active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    services = ServiceChoiceField(
        label=_("Services"),
        queryset=Service.objects.select_related("organization").order_by(
            "organization__name", "name"
        ),
        required=False,
        help_text=_("Empty: all services of the chosen organisations."),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    starts_at = DateTimeFormField(label=_("Window start"), widget=DateTimeLocalInput())
    ends_at = DateTimeFormField(label=_("Window end"), widget=DateTimeLocalInput())
    impact = forms.ChoiceField(label=_("Expected impact"), choices=Impact.choices)
    emergency_scenario = forms.CharField(
        label=_("Proposed emergency scenario"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=inputs.MAINTENANCE_TEXT_MAX,
        help_text=_("Required when impact is expected."),
    )
    initiator = forms.ChoiceField(
        label=_("Initiated by"), choices=Initiator.choices, initial=Initiator.PROVIDER
    )
    message = forms.CharField(
        label=_("Note for subscribers"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=inputs.MAINTENANCE_TEXT_MAX,
        help_text=_("Shown on the timeline and e-mailed with the change."),
    )

    def __init__(self, *args, notice=None, **kwargs):
        if notice is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "kind": notice.kind,
                "title": notice.title,
                "description": notice.description,
                "all_organizations": notice.all_organizations,
                "organizations": list(notice.organizations.all()),
                "services": list(notice.services.all()),
                "starts_at": notice.starts_at,
                "ends_at": notice.ends_at,
                "impact": notice.impact,
                "emergency_scenario": notice.emergency_scenario,
                "initiator": notice.initiator,
            }
        super().__init__(*args, **kwargs)
        if notice is None:
            del self.fields["message"]

    def service_kwargs(self):
        data = dict(self.cleaned_data)
        data.pop("message", None)
        return data


class StatusUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    message = forms.CharField(
        label=_("Message for subscribers"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=inputs.MAINTENANCE_TEXT_MAX,
    )

    def __init__(self, *args, notice=None, **kwargs):
        super().__init__(*args, **kwargs)
        if notice is not None:
            allowed = [notice.status, *notice.allowed_transitions()]
            self.fields["status"].choices = [c for c in Status.choices if c[0] in allowed]
            self.fields["status"].initial = notice.status


class SubscriptionForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organization.objects.none(), empty_label=None
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("All services"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = visible_organizations(user)
        service = self.fields["service"]
        service.queryset = (
            Service.objects.filter(organization_filter(user))
            .select_related("organization")
            .order_by("organization__name", "name")
        )
        if user.is_provider_staff:
            service.label_from_instance = lambda s: f"{s.organization.name} · {s.name}"
        else:
            service.label_from_instance = lambda s: s.name
