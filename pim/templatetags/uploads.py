"""File fields that explain themselves: `{% upload_limits %}` is the sentence with the size limit
and the allowed types (from settings), `{{ field|file_input }}` the input pointing at it (accept,
aria-describedby, focused when it carries an error). Used by templates/tickets/_file_input.html."""

from django import template

from pim import uploads

register = template.Library()


@register.simple_tag
def upload_limits():
    return uploads.limits_text()


@register.filter
def file_input(field):
    attrs = {
        "accept": uploads.accept_attribute(),
        "aria-describedby": f"{field.auto_id}_limits",
    }
    if field.errors:
        attrs["autofocus"] = True
    return field.as_widget(attrs=attrs)
