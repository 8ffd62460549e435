"""/healthz: is this process able to do its work? Checks the database, the broker and the cache.

200 {"status": "ok", "checks": {...}} when every configured dependency answers;
503 with the failing checks named otherwise. Details of a failure (host names,
messages) go to the log, not to the public response.

Also runnable as a container healthcheck: ``python -m digest_site.health [URL]``
GETs /healthz with the site's own Host header and exits 0 on a 200, 1 otherwise;
``python -m digest_site.health --checks`` runs the checks in-process (for beat).
"""
from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Short: a probe that hangs is worse than one that says "down".
TIMEOUT_SECONDS = 2.0


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _ping_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()


def _check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        _ping_redis(url)
        return
    from kombu import Connection

    with Connection(url, connect_timeout=TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)


def _check_cache() -> None:
    _ping_redis(settings.REDIS_URL)


def _checks() -> dict:
    checks = {"database": _check_database}
    # Embedded mode (eager tasks, local-memory cache) has nothing more to reach.
    if settings.CELERY_BROKER_URL and not settings.CELERY_BROKER_URL.startswith("memory://"):
        checks["broker"] = _check_broker
    if settings.REDIS_URL:
        checks["cache"] = _check_cache
    return checks


@never_cache
@require_GET
def healthz(request):
    results: dict[str, str] = {}
    for name, check in _checks().items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # any failure of a dependency is the answer, not a crash
            results[name] = "fail"
            logger.error(
                "healthz check=%s status=fail error=%s detail=%r duration_ms=%d",
                name, type(exc).__name__, str(exc)[:300], (time.monotonic() - started) * 1000,
            )
        else:
            results[name] = "ok"
    failed = sorted(name for name, state in results.items() if state != "ok")
    body = {"status": "fail" if failed else "ok", "checks": results}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


def probe(url: str = "http://127.0.0.1:8000/healthz") -> int:
    """Container healthcheck: GET url with the site's own host name; 0 if it answers 200."""
    import os
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    site = urlsplit(os.environ.get("SITE_URL") or "http://localhost")
    request = urllib.request.Request(url, headers={"Host": site.netloc or "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            ok = response.status == 200
            print(response.read(500).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        print(f"{url}: HTTP {exc.code} {exc.read(500).decode('utf-8', 'replace')}")
        ok = False
    except OSError as exc:
        print(f"{url}: {exc}")
        ok = False
    return 0 if ok else 1


def check_here() -> int:
    """The same checks in this process, without HTTP (for beat, which serves no requests); 0 if all pass."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")
    django.setup()
    failed = []
    for name, check in _checks().items():
        try:
            check()
        except Exception as exc:  # reported, not raised: this is the healthcheck's answer
            failed.append(name)
            print(f"{name}: fail ({type(exc).__name__}: {exc})")
        else:
            print(f"{name}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--checks"]:
        sys.exit(check_here())
    sys.exit(probe(*sys.argv[1:2]))
