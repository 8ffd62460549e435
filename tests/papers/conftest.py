import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Search's rate-limit counters live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()
