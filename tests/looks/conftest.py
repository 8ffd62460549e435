"""The looks tests post to the signup and "email me a link" forms like a person:
each test starts with empty rate-limit counters (they live in the cache)."""
from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()
