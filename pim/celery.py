"""The Celery application; configuration lives in settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim.settings")

app = Celery("pim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Sending a task while serving a request: one reconnection (a pooled connection to a broker that
# restarted), then give up at once. With retry=False kombu still tries to connect for ~6 s before
# it refuses, and the page waited that long; the callers (the notification outbox, the export
# relay) keep the row and send it later.
FAIL_FAST = {
    "retry": True,
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    },
}
