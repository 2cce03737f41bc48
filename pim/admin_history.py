"""Admin edits of configuration (SLA terms, the escalation matrix and triggers) audited in
Django's own admin log (LogEntry: who, when, which object, shown under "History"), with the old
and the new value of every changed field, not only its name. Tickets have an audit trail of
their own (tickets.AuditEntry), written by tickets.services, which the ticket admin saves
through."""

import datetime

from django import forms
from django.utils import timezone


def _shown(field, value):
    if value in (None, "", [], ()):
        return "–"
    if isinstance(field, forms.ModelChoiceField) and not hasattr(value, "_meta"):
        value = field.queryset.filter(pk=value).first() or value
    elif isinstance(field, forms.ChoiceField):
        choices = {str(k): v for k, v in field.choices if not isinstance(v, (list, tuple))}
        values = value if isinstance(value, (list, tuple)) else [value]
        value = ", ".join(str(choices.get(str(v), v)) for v in values)
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, datetime.time):
        value = value.strftime("%H:%M")
    return str(value)


def _with_values(labels, form, names):
    """`label: old → new` for each changed field (the label in the log's language, English)."""
    out = []
    for label, name in zip(labels, names, strict=False):
        field = form.fields.get(name)
        if field is None:
            out.append(label)
            continue
        old = _shown(field, form.initial.get(name, field.initial))
        new = _shown(field, form.cleaned_data.get(name))
        out.append(f"{label}: {old} → {new}")
    return out


class ValuesInHistoryMixin:
    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        if add:
            return message
        forms_by_object = {}
        for formset in formsets or []:
            for inline_form in formset.forms:
                if inline_form.instance.pk is not None:
                    forms_by_object[(type(inline_form.instance), inline_form.instance.pk)] = (
                        inline_form
                    )
        changed = iter(
            ([(form, form.changed_data)] if form.changed_data else [])
            + [
                (forms_by_object.get((type(obj), obj.pk)), names)
                for formset in formsets or []
                for obj, names in formset.changed_objects
            ]
        )
        for part in message:
            if "changed" not in part:
                continue
            source, names = next(changed, (None, []))
            if source is not None and "fields" in part["changed"]:
                part["changed"]["fields"] = _with_values(part["changed"]["fields"], source, names)
        return message
