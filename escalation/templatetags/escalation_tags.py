from django import template

from ..models import Channel, Notification

register = template.Library()


@register.simple_tag
def unread_notifications(user):
    """The bell's count: the user's unread in-app notifications (one indexed query)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).count()
