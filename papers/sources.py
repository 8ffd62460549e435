"""Fetch papers from the network sources and import them: Hugging Face daily papers and the arXiv API.

Each fetch is one HTTP GET (with timeouts, and retries with exponential backoff
on connection errors, 429 and 5xx) whose body goes, unchanged, to the same
import service as `manage.py import_papers`. Whatever goes wrong (the source is
down, answers 500, or sends something that is not the promised format), the
fetch logs one error line and the database is left as it was: the import is
atomic, and nothing is imported from a failed request.

arXiv asks API clients for at most one request every three seconds. Every
arXiv request, retries included, first takes a turn from a limiter kept in the
cache (Redis in production, so all workers share it; process memory otherwise).

Base URLs, arXiv categories or query, and result counts come from settings
(HF_DAILY_PAPERS_URL, ARXIV_API_URL, ARXIV_CATEGORIES, ARXIV_QUERY, ARXIV_MAX_RESULTS).
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from papers.services import papers_import_text

logger = logging.getLogger(__name__)

HF_JSON = "hf-json"
ARXIV_ATOM = "arxiv-atom"
# Larger than any real answer (100 arXiv entries are ~300 KB); a runaway body is refused.
MAX_BYTES = 20 * 1024 * 1024
ARXIV_LIMITER_KEY = "papers:sources:arxiv-turn"
# How long a fetch waits for its arXiv turn before giving up (other workers hold it).
ARXIV_MAX_WAIT = 120.0


class SourceBusy(Exception):
    """No arXiv turn came up within ARXIV_MAX_WAIT seconds."""


@dataclass(frozen=True)
class FetchResult:
    source: str
    url: str
    listed_on: dt.date | None
    error: str | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        """JSON-safe, for a Celery result."""
        data = asdict(self)
        data["listed_on"] = self.listed_on.isoformat() if self.listed_on else None
        return data


# --- the arXiv rate limiter ------------------------------------------------------------


def arxiv_wait_turn(*, interval: float | None = None, max_wait: float = ARXIV_MAX_WAIT) -> None:
    """Block until this process may send one arXiv request; at most one per `interval` seconds.

    cache.add is atomic (SET NX on Redis), so across every worker exactly one
    caller gets each turn; the key expires `interval` seconds after it was
    taken (rounded up to a whole second: Redis expiries here are in seconds).
    """
    interval = settings.ARXIV_MIN_INTERVAL if interval is None else interval
    if interval <= 0:
        return
    deadline = time.monotonic() + max_wait
    while not cache.add(ARXIV_LIMITER_KEY, 1, timeout=math.ceil(interval)):
        if time.monotonic() > deadline:
            raise SourceBusy(f"no arXiv request slot within {max_wait:.0f} s")
        time.sleep(min(0.25, interval / 4))


class _PacedRetry(Retry):
    """A urllib3 Retry whose retries, too, wait for a turn at a rate limiter."""

    pace: Callable[[], None] | None = None

    def new(self, **kw):
        retry = super().new(**kw)
        retry.pace = self.pace
        return retry

    def sleep(self, response=None) -> None:
        super().sleep(response)
        if self.pace is not None:
            self.pace()


# --- HTTP ---------------------------------------------------------------------------------


def _session(pace: Callable[[], None] | None = None) -> requests.Session:
    retries = settings.PAPER_SOURCES_RETRIES
    retry = _PacedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=1.0,  # 0 s, 2 s, 4 s ... between attempts (urllib3 waits nothing before the first retry)
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last 5xx comes back as a response, and is reported as such
    )
    retry.pace = pace
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"trending-papers-digest (+{settings.SITE_URL})"
    return session


def _get(url: str, params: dict, *, pace: Callable[[], None] | None = None) -> tuple[str, str]:
    """(final URL, body text); raises requests.RequestException or ValueError with a readable message."""
    with _session(pace) as session:
        if pace is not None:
            pace()
        response = session.get(url, params=params, timeout=settings.PAPER_SOURCES_TIMEOUT)
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code} {response.reason or ''}".strip())
    if len(response.content) > MAX_BYTES:
        raise ValueError(f"response of {len(response.content)} bytes is larger than {MAX_BYTES}")
    # Both APIs speak UTF-8; requests would guess Latin-1 for a text/* type without a charset.
    encoding = response.encoding if "charset" in response.headers.get("Content-Type", "").lower() else "utf-8"
    return response.url, response.content.decode(encoding or "utf-8", errors="replace")


def _fetch_and_import(*, source: str, url: str, params: dict, listed_on: dt.date | None,
                      pace: Callable[[], None] | None = None) -> FetchResult:
    started = time.monotonic()
    final_url = requests.Request("GET", url, params=params).prepare().url
    try:
        final_url, text = _get(url, params, pace=pace)
    except (requests.RequestException, ValueError, SourceBusy) as exc:
        result = FetchResult(source=source, url=final_url, listed_on=listed_on, error=f"{type(exc).__name__}: {exc}")
    else:
        imported = papers_import_text(text=text, name=final_url, format=source, listed_on=listed_on)
        result = FetchResult(
            source=source, url=final_url, listed_on=listed_on, error=imported.error,
            created=imported.created, updated=imported.updated, unchanged=imported.unchanged, skipped=imported.skipped,
        )
    duration_ms = int((time.monotonic() - started) * 1000)
    if result.ok:
        logger.info(
            "fetch source=%s status=ok listed_on=%s created=%d updated=%d unchanged=%d skipped=%d "
            "duration_ms=%d url=%s",
            source, listed_on, result.created, result.updated, result.unchanged, result.skipped, duration_ms, final_url,
        )
    else:
        logger.error(
            "fetch source=%s status=fail listed_on=%s duration_ms=%d url=%s error=%r",
            source, listed_on, duration_ms, final_url, result.error,
        )
    return result


# --- the sources ------------------------------------------------------------------------------


def papers_fetch_hf_daily(*, day: dt.date | None = None) -> FetchResult:
    """Import the Hugging Face daily papers list for `day` (default: today, UTC).

    Idempotent (the import is an upsert: fetching again refreshes upvotes) and
    atomic; never raises for a failed fetch: the result carries the error, which is logged.
    """
    day = day or timezone.now().date()
    return _fetch_and_import(
        source=HF_JSON, url=settings.HF_DAILY_PAPERS_URL, params={"date": day.isoformat()}, listed_on=day
    )


def arxiv_search_query(*, categories: list[str] | tuple[str, ...], query: str = "") -> str:
    """The arXiv API search_query: `query` as given, else any of the categories (cat:cs.CL OR ...)."""
    if query.strip():
        return query.strip()
    if not categories:
        raise ValueError("set ARXIV_CATEGORIES or ARXIV_QUERY")
    return " OR ".join(f"cat:{category}" for category in categories)


def papers_fetch_arxiv(
    *, query: str | None = None, max_results: int | None = None, day: dt.date | None = None
) -> FetchResult:
    """Import the newest arXiv submissions matching the configured categories (or `query`).

    The papers are listed on `day` (default: today, UTC) with source arxiv-atom.
    Rate-limited to one request per ARXIV_MIN_INTERVAL seconds across workers.
    Idempotent and atomic; never raises for a failed fetch (see papers_fetch_hf_daily).
    """
    day = day or timezone.now().date()
    params = {
        "search_query": arxiv_search_query(
            categories=settings.ARXIV_CATEGORIES, query=settings.ARXIV_QUERY if query is None else query
        ),
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": 0,
        "max_results": max_results or settings.ARXIV_MAX_RESULTS,
    }
    return _fetch_and_import(source=ARXIV_ATOM, url=settings.ARXIV_API_URL, params=params, listed_on=day,
                             pace=arxiv_wait_turn)
