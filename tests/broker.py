"""The broker taken down for a test: nothing listens on its port."""

from contextlib import contextmanager

import pytest

from pim.celery import app


@contextmanager
def broker_down():
    """Nothing listens on the broker's port (the environment's URL wins over app.conf); the
    connection pools made for the broker that was there are set aside meanwhile."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
        patch.setattr(app, "_pool", None)
        patch.setattr(app.amqp, "_producer_pool", None)
        yield
