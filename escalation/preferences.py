"""A person's notification preferences (issue 12 item 1): which customer events they are told
about, by e-mail and/or in the portal. The receipt and *Waiting for customer* cannot be
switched off. The account page and the API call `save`."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import MANDATORY_EVENTS, CustomerEvent, NotificationPreference

SWITCHABLE_EVENTS = [e for e in CustomerEvent if e not in MANDATORY_EVENTS]


def preferences_of(user) -> NotificationPreference:
    """The stored preferences, or the defaults (not saved)."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user)


def enabled_events(preference) -> dict[str, bool]:
    muted = set(preference.muted_events or [])
    return {str(e): (e in MANDATORY_EVENTS or e not in muted) for e in CustomerEvent}


def save(user, *, by_email: bool, in_app: bool, events: dict[str, bool]) -> NotificationPreference:
    """Store the preferences; `events` maps event codes to on/off (unknown codes and switching
    off a mandatory event are refused)."""
    unknown = sorted(set(events) - set(CustomerEvent.values))
    if unknown:
        raise ValidationError(
            {"events": _("Unknown event(s): %(events)s.") % {"events": ", ".join(unknown)}}
        )
    refused = sorted(e for e, on in events.items() if not on and e in MANDATORY_EVENTS)
    if refused:
        raise ValidationError(
            {
                "events": _("These cannot be switched off: %(events)s.")
                % {"events": ", ".join(str(CustomerEvent(e).label) for e in refused)}
            }
        )
    preference = preferences_of(user)
    current = enabled_events(preference)
    current.update(events)
    preference.by_email = bool(by_email)
    preference.in_app = bool(in_app)
    preference.muted_events = sorted(e for e, on in current.items() if not on)
    preference.save()
    return preference
