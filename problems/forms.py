"""The forms of problem management: raising a problem, its panel on the ticket page (impact,
urgency, owner, root cause; linking an incident) and the known-error form."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from changes.models import ChangeRequest
from pim import inputs
from pim.models import Organization, Service
from tickets.forms import OwnIds, UserChoiceField, worker_users
from tickets.models import Kind, Ticket

from .models import Level, ProblemIncident


def _numbers(value):
    return [n.strip().upper() for n in (value or "").replace(",", " ").split() if n.strip()]


class IncidentNumbersField(forms.CharField):
    """Incident numbers, separated by spaces or commas (INC-2026-00042)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        numbers = _numbers(value)
        if len(numbers) > 50:
            raise forms.ValidationError(_("At most 50 incidents at a time."))
        found = {
            t.number: t
            for t in Ticket.objects.filter(number__in=numbers, kind=Kind.INCIDENT).select_related(
                "organization"
            )
        }
        missing = [n for n in numbers if n not in found]
        if missing:
            raise forms.ValidationError(
                _("No incident with the number %(numbers)s.") % {"numbers": ", ".join(missing)}
            )
        return [found[n] for n in dict.fromkeys(numbers)]


class ProblemForm(OwnIds, forms.Form):
    id_prefix = "problem"

    title = forms.CharField(label=_("Title"), max_length=inputs.TITLE_MAX)
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=inputs.DESCRIPTION_MAX,
    )
    impact = forms.ChoiceField(label=_("Impact"), choices=Level.choices, initial=Level.MEDIUM)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Level.choices, initial=Level.MEDIUM)
    incidents = IncidentNumbersField(
        label=_("Incidents"),
        help_text=_("The incident numbers, separated by spaces or commas (any organisations)."),
    )
    owner = UserChoiceField(label=_("Owner"), queryset=worker_users(), required=False)


class ProblemEditForm(OwnIds, forms.Form):
    id_prefix = "problem_edit"

    impact = forms.ChoiceField(label=_("Impact"), choices=Level.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Level.choices)
    owner = UserChoiceField(label=_("Owner"), queryset=worker_users(), required=False)
    root_cause = forms.CharField(
        label=_("Root cause"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=inputs.RESOLUTION_TEXT_MAX,
        required=False,
    )


class LinkIncidentForm(OwnIds, forms.Form):
    id_prefix = "problem_link"

    incidents = IncidentNumbersField(
        label=_("Link incidents"),
        help_text=_("The incident numbers, separated by spaces or commas."),
    )


class ChangeNumberField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        value = (super().clean(value) or "").strip().upper()
        if not value:
            return None
        change = ChangeRequest.objects.filter(ticket__number=value).select_related("ticket").first()
        if change is None:
            raise forms.ValidationError(_("No change request with this number."))
        return change


class KnownErrorForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=inputs.TITLE_MAX)
    symptoms = forms.CharField(
        label=_("Symptoms"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=inputs.RESOLUTION_TEXT_MAX,
        required=False,
        help_text=_("What the customer notices: matched against new incidents."),
    )
    root_cause = forms.CharField(
        label=_("Root cause"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=inputs.RESOLUTION_TEXT_MAX,
        required=False,
    )
    workaround = forms.CharField(
        label=_("Workaround"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=inputs.RESOLUTION_TEXT_MAX,
        required=False,
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Services"),
        queryset=Service.objects.select_related("organization").order_by("organization", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    published_to = forms.ModelMultipleChoiceField(
        label=_("Published to"),
        queryset=Organization.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Their customers see it, with the workaround, while filing an incident."),
    )
    fix_change = ChangeNumberField(
        label=_("Fixed by change"),
        help_text=_("The change request number (CHG-…); closing it resolves the open incidents."),
    )

    def __init__(self, *args, known_error=None, problem=None, **kwargs):
        prefix = f"ke{known_error.pk}" if known_error is not None else "ke"
        kwargs.setdefault("auto_id", f"id_{prefix}_%s")
        if known_error is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": known_error.title,
                "symptoms": known_error.symptoms,
                "root_cause": known_error.root_cause,
                "workaround": known_error.workaround,
                "services": list(known_error.services.all()),
                "published_to": list(known_error.published_to.all()),
                "fix_change": known_error.fix_change.ticket.number
                if known_error.fix_change_id
                else "",
            }
        super().__init__(*args, **kwargs)
        self.known_error = known_error
        self.fields["services"].label_from_instance = lambda s: f"{s.organization} · {s.name}"
        problem = problem or (known_error.problem if known_error is not None else None)
        if problem is not None:
            # Published per affected organisation (issue 16 item 4): the organisations of the
            # linked incidents and the problem's own, and what is chosen already.
            linked = ProblemIncident.objects.filter(problem=problem)
            affected = Q(pk__in=linked.values("incident__organization_id")) | Q(
                pk=problem.ticket.organization_id
            )
            if known_error is not None:
                affected |= Q(pk__in=known_error.published_to.values("pk"))
            self.fields["published_to"].queryset = Organization.objects.filter(
                affected, is_active=True
            ).order_by("name")
            services = Q(organization__in=self.fields["published_to"].queryset)
            if known_error is not None:
                services |= Q(pk__in=known_error.services.values("pk"))
            self.fields["services"].queryset = (
                Service.objects.filter(services).select_related("organization")
                .order_by("organization__name", "name")
            )  # fmt: skip
