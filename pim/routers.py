"""Past one machine: reads of reports, dashboards and exports on a PostgreSQL read replica.

`DATABASE_REPLICA_URL` configures the `replica` alias (without it the alias is the primary's
settings and nothing is routed there: no second connection). Code that only reads and may read
slightly stale data runs under `replica_reads()` (a context manager and a decorator): the
compliance API and page, the personal-data export. Everything else, every write, and every read
inside a transaction on the primary (it must see its own writes) stays on `default`.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_replica_reads = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads():
    """Send the reads inside to the replica (if one is configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reading_from_replica():
    return (
        _replica_reads.get()
        and getattr(settings, "DATABASE_REPLICA", False)
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


class ReplicaRouter:
    """Reads under `replica_reads()` to the replica, everything else to the primary."""

    def db_for_read(self, model, **hints):
        return REPLICA if reading_from_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two ways in

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # the replica follows the primary by replication
