# The real-parts fixtures (Redis, SMTP on loopback, worker and beat processes) for every test here.
from tests.integration.test_escalation_end_to_end import redis_db, smtp, stack  # noqa: F401
