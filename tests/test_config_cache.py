"""pim.config_cache: process-local copies of configuration, exact under the shared generation."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import RequestFactory

from pim import config_cache


class Builder:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"built": self.calls}


def test_a_copy_is_built_once_per_generation():
    build = Builder()
    assert config_cache.get(("test", 1), build) == {"built": 1}
    assert config_cache.get(("test", 1), build) == {"built": 1}
    assert config_cache.get(("test", 2), build) == {"built": 2}  # another key
    assert build.calls == 2


@pytest.mark.django_db(transaction=True)
def test_a_change_makes_every_copy_stale_now_and_again_at_commit():
    build = Builder()
    config_cache.get(("test",), build)
    with transaction.atomic():
        config_cache.changed()
        assert config_cache.get(("test",), build) == {"built": 2}  # read inside the change
        assert config_cache.get(("test",), build) == {"built": 2}
    # the commit moved the generation on again: a copy read meanwhile is not kept
    assert config_cache.get(("test",), build) == {"built": 3}


def test_another_process_s_change_or_an_emptied_cache_is_seen():
    build = Builder()
    config_cache.get(("test",), build)
    cache.set(config_cache.GENERATION_KEY, "another process changed a contract", timeout=None)
    assert config_cache.get(("test",), build) == {"built": 2}
    cache.clear()  # Redis restarted: a new generation, not the one of before
    assert config_cache.get(("test",), build) == {"built": 3}
    assert config_cache.get(("test",), build) == {"built": 3}


@pytest.mark.django_db
def test_a_request_reads_the_generation_once_and_sees_its_own_change(monkeypatch):
    config_cache.generation()  # there is one already (the first use makes it)
    reads = []
    real_get = cache.get
    monkeypatch.setattr(
        config_cache.cache, "get", lambda key, *a, **k: reads.append(key) or real_get(key, *a, **k)
    )
    build = Builder()

    def view(request):
        reads.clear()
        config_cache.get(("test", "a"), build)
        config_cache.get(("test", "b"), build)
        config_cache.get(("test", "a"), build)
        assert reads == [config_cache.GENERATION_KEY]  # once for the three copies
        config_cache.changed()  # e.g. the admin saved a calendar
        return config_cache.get(("test", "a"), build)

    middleware = config_cache.ConfigCacheMiddleware(view)
    assert middleware(RequestFactory().get("/")) == {"built": 3}
    assert reads == [config_cache.GENERATION_KEY] * 2  # read again after the change
    # the next request: "a" is of this generation, "b" is built again (4), then the change (5)
    assert middleware(RequestFactory().get("/")) == {"built": 5}
    assert build.calls == 5
