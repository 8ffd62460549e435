"""Papers arrive by themselves: the HF daily papers API and the arXiv API, served by a local HTTP server."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.cache import cache

from papers.models import Listing, Paper
from papers.sources import ARXIV_LIMITER_KEY, arxiv_wait_turn, papers_fetch_arxiv, papers_fetch_hf_daily
from tests.factories import PaperFactory
from tests.ops.conftest import DATA

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 11)
HF_PATH = "/api/daily_papers"
ARXIV_PATH = "/api/query"


@pytest.fixture
def hf(source_server, settings):
    settings.HF_DAILY_PAPERS_URL = source_server.base + HF_PATH
    return source_server


@pytest.fixture
def arxiv(source_server, settings):
    settings.ARXIV_API_URL = source_server.base + ARXIV_PATH
    cache.delete(ARXIV_LIMITER_KEY)
    return source_server


def _snapshot() -> list[tuple]:
    return sorted(Paper.objects.values_list("arxiv_id", "title", "upvotes")) + sorted(
        Listing.objects.values_list("paper__arxiv_id", "listed_on", "source", "rank", "upvotes")
    )


def test_it_imports_the_hugging_face_list_of_a_day(hf, caplog):
    hf.serve_file(HF_PATH, "hf_daily_papers_2024-03-11.json", "application/json; charset=utf-8")
    result = papers_fetch_hf_daily(day=DAY)
    assert result.ok, result.error
    assert (result.created, result.updated) == (3, 0)
    assert [s.query for s in hf.seen] == [{"date": ["2024-03-11"]}]
    assert "trending-papers-digest" in hf.seen[0].user_agent
    gemini = Paper.objects.get(arxiv_id="2403.05530")
    assert gemini.title.startswith("Gemini 1.5: Unlocking multimodal understanding")
    assert gemini.upvotes == 61
    listings = list(Listing.objects.order_by("rank").values_list("paper__arxiv_id", "listed_on", "source"))
    assert listings == [
        ("2403.05530", DAY, "hf-json"), ("2403.04746", DAY, "hf-json"), ("2403.03954", DAY, "hf-json"),
    ]
    assert "fetch source=hf-json status=ok listed_on=2024-03-11 created=3 updated=0" in caplog.text


def test_it_refreshes_rather_than_duplicates_on_the_next_fetch(hf):
    hf.serve_file(HF_PATH, "hf_daily_papers_2024-03-11.json", "application/json")
    papers_fetch_hf_daily(day=DAY)
    before = _snapshot()
    again = papers_fetch_hf_daily(day=DAY)
    assert again.ok and again.created == 0
    assert _snapshot() == before


def test_it_imports_the_newest_arxiv_papers_of_the_configured_categories(arxiv, caplog):
    arxiv.serve_file(ARXIV_PATH, "arxiv_cs_cl_newest.atom.xml", "application/atom+xml; charset=UTF-8")
    result = papers_fetch_arxiv(max_results=2, day=DAY)
    assert result.ok, result.error
    assert result.created == 2
    query = arxiv.seen[0].query
    assert query["search_query"] == ["cat:cs.CL OR cat:cs.LG"]
    assert query["sortBy"] == ["submittedDate"] and query["sortOrder"] == ["descending"]
    assert query["max_results"] == ["2"]
    paper = Paper.objects.get(arxiv_id="2403.07128")
    assert paper.title == "Retrieval-Augmented Pretraining for Low-Resource Machine Translation"
    assert paper.authors == ["Grace Hopper", "Claude Shannon"]
    assert paper.comments == "12 pages, 4 figures"
    assert set(Listing.objects.values_list("source", "listed_on")) == {("arxiv-atom", DAY)}
    assert "fetch source=arxiv-atom status=ok" in caplog.text


def test_it_sends_the_configured_arxiv_query_instead_of_categories(arxiv, settings):
    settings.ARXIV_QUERY = 'abs:"diffusion policy" AND cat:cs.RO'
    arxiv.serve_file(ARXIV_PATH, "arxiv_cs_cl_newest.atom.xml", "application/atom+xml")
    assert papers_fetch_arxiv(day=DAY).ok
    assert arxiv.seen[0].query["search_query"] == ['abs:"diffusion policy" AND cat:cs.RO']
    assert arxiv.seen[0].query["max_results"] == [str(settings.ARXIV_MAX_RESULTS)]


def test_it_changes_nothing_when_the_source_is_down(settings, closed_port, caplog):
    PaperFactory(arxiv_id="2403.05530", title="Already here", upvotes=5)
    before = _snapshot()
    settings.HF_DAILY_PAPERS_URL = f"http://127.0.0.1:{closed_port}/api/daily_papers"
    result = papers_fetch_hf_daily(day=DAY)
    assert not result.ok and "ConnectionError" in result.error
    assert _snapshot() == before
    assert "fetch source=hf-json status=fail" in caplog.text and "ConnectionError" in caplog.text


def test_it_retries_a_server_error_then_gives_up_changing_nothing(hf, caplog):
    hf.answer(HF_PATH, (500, "Internal Server Error", "text/plain"))
    result = papers_fetch_hf_daily(day=DAY)
    assert result.error == "ValueError: HTTP 500 Internal Server Error"
    assert len(hf.seen) == 2  # the request and its one retry (PAPER_SOURCES_RETRIES=1)
    assert not Paper.objects.exists()
    assert "status=fail" in caplog.text and "HTTP 500" in caplog.text


def test_it_recovers_when_a_retry_succeeds(hf):
    hf.answer(
        HF_PATH,
        (503, "Service Unavailable", "text/plain"),
        (200, (DATA / "hf_daily_papers_2024-03-11.json").read_bytes(), "application/json"),
    )
    result = papers_fetch_hf_daily(day=DAY)
    assert result.ok and result.created == 3
    assert len(hf.seen) == 2


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("<html><body>Sorry, we are down for maintenance</body></html>", "text/html"),
        ('[{"paper": {"id": "2403.05530", "title": "Cut off', "application/json"),
        ('{"error": "Invalid date"}', "application/json"),
    ],
    ids=["html", "truncated-json", "error-object"],
)
def test_it_changes_nothing_when_the_source_sends_junk(hf, caplog, body, content_type):
    PaperFactory(arxiv_id="2403.05530", title="Already here", upvotes=5)
    before = _snapshot()
    hf.answer(HF_PATH, (200, body, content_type))
    result = papers_fetch_hf_daily(day=DAY)
    assert not result.ok
    assert hf.base + HF_PATH in result.error  # the import names the URL it read
    assert _snapshot() == before
    assert "fetch source=hf-json status=fail" in caplog.text


def test_it_reports_an_arxiv_api_error_and_changes_nothing(arxiv):
    arxiv.serve_file(ARXIV_PATH, "arxiv_error.atom.xml", "application/atom+xml")
    result = papers_fetch_arxiv(day=DAY)
    assert not result.ok and "malformed search query" in result.error
    assert not Paper.objects.exists()


def test_it_waits_three_seconds_between_arxiv_requests_by_default(settings):
    settings.ARXIV_MIN_INTERVAL = 3.0
    cache.delete(ARXIV_LIMITER_KEY)
    arxiv_wait_turn()
    started = time.monotonic()
    with pytest.raises(Exception, match="no arXiv request slot"):
        arxiv_wait_turn(max_wait=0.5)
    assert time.monotonic() - started >= 0.5
    cache.delete(ARXIV_LIMITER_KEY)


def test_it_spaces_arxiv_requests_and_their_retries(arxiv, settings):
    settings.ARXIV_MIN_INTERVAL = 1.0
    feed = (DATA / "arxiv_cs_cl_newest.atom.xml").read_bytes()
    arxiv.answer(ARXIV_PATH, (503, "busy", "text/plain"), (200, feed, "application/atom+xml"))
    assert papers_fetch_arxiv(day=DAY).ok  # a 503, then its retry
    assert papers_fetch_arxiv(day=DAY).ok  # a second fetch right away
    times = [s.at for s in arxiv.seen]
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # urllib3 retries the first time without waiting; the limiter holds it back.
    assert min(gaps) >= 0.9, gaps


def test_it_shares_arxiv_turns_between_workers_through_redis(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    cache.delete(ARXIV_LIMITER_KEY)
    turns: list[float] = []
    lock = threading.Lock()

    def worker():
        arxiv_wait_turn(interval=1.0, max_wait=10)
        with lock:
            turns.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns.sort()
    gaps = [b - a for a, b in zip(turns, turns[1:], strict=False)]
    assert len(turns) == 3 and min(gaps) >= 0.9, gaps
    cache.delete(ARXIV_LIMITER_KEY)
