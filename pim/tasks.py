from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from .security.passwords import send_reset_mail

HEARTBEAT_KEY = "pim:beat-heartbeat"


@shared_task(ignore_result=True)
def heartbeat():
    """Beat runs this every minute; /healthz reports how long ago it last ran."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


@shared_task(ignore_result=True)
def send_password_reset(email):
    """The password-reset page's mail, sent in the background (pim.security.passwords)."""
    send_reset_mail(email)
