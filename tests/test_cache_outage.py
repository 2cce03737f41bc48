"""With CACHE_URL on Redis and Redis unreachable, the cache is a logged miss, not an error
(the whole fault — tickets filed through the API while Redis is down — is
tests/integration/test_faults.py)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROBE = """
import django, time
django.setup()
from django.conf import settings
from django.core.cache import cache
assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
started = time.monotonic()
cache.set("k", 1)
print(cache.get("k", "miss"), cache.add("k", 2), cache.incr("k") if cache.get("k") else "no-incr")
assert time.monotonic() - started < 5
"""


def test_unreachable_redis_cache_is_a_miss(tmp_path):
    env = {
        **os.environ,
        "CACHE_URL": "rediscache://127.0.0.1:1/0",  # nothing listens on port 1
        "PIM_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "pim.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["miss", "None", "no-incr"]
    assert "Connection refused" in result.stderr or "Error 111" in result.stderr  # logged
