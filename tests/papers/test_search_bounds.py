"""The index stays current through every write path, and search stays bounded for any query."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from papers.models import SearchEntry
from papers.search_results import papers_search
from papers.services import papers_flags_set
from papers.views import RATE_SEARCH
from tests.conftest import REPO, require_service
from tests.factories import ListingFactory, PaperFactory

pytestmark = pytest.mark.django_db


def titles(results) -> list[str]:
    return [p.title for p in results.papers]


def test_it_drops_hidden_papers_from_the_index_and_brings_them_back():
    paper = PaperFactory(title="Sparse Attention Kernels")

    papers_flags_set(paper_ids=[paper.id], is_hidden=True)
    assert titles(papers_search("sparse attention")) == []
    assert not SearchEntry.objects.filter(paper=paper).exists()

    papers_flags_set(paper_ids=[paper.id], is_hidden=False)
    assert titles(papers_search("sparse attention")) == ["Sparse Attention Kernels"]


def test_it_finds_a_paper_by_its_new_title_after_an_admin_edit(admin_client):
    paper = PaperFactory(title="Old Words Here", abstract="Nothing about kernels.")
    url = reverse("admin:papers_paper_change", args=[paper.id])
    form = {
        "title": "Spectral Graph Wavelets", "arxiv_id": paper.arxiv_id, "authors": '["Ada Lovelace"]',
        "abstract": paper.abstract, "comments": "", "categories": "[]", "published_on": "2024-03-11",
        "editor_note": "", "upvotes": "0", "github_url": "", "github_stars": "", "title_key": paper.title_key,
        "listings-TOTAL_FORMS": "0", "listings-INITIAL_FORMS": "0",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert titles(papers_search("graph wavelets")) == ["Spectral Graph Wavelets"]
    assert titles(papers_search("old words")) == []


def test_it_ranks_by_trending_and_follows_new_listings():
    day = dt.date(2024, 3, 11)
    older = PaperFactory(title="Retrieval for Code", published_on=day - dt.timedelta(days=30))
    newer = PaperFactory(title="Retrieval for Speech", published_on=day - dt.timedelta(days=3))
    assert titles(papers_search("retrieval")) == ["Retrieval for Speech", "Retrieval for Code"]

    ListingFactory(paper=older, listed_on=day, rank=1, upvotes=300)  # listed today, at the top

    assert titles(papers_search("retrieval")) == ["Retrieval for Code", "Retrieval for Speech"]
    assert newer.id != older.id


def test_it_rebuilds_the_index_from_the_papers(capsys):
    PaperFactory(title="Tabular Diffusion Models")
    SearchEntry.objects.all().delete()
    assert titles(papers_search("diffusion")) == []

    call_command("search_index_rebuild")

    assert titles(papers_search("diffusion")) == ["Tabular Diffusion Models"]
    assert "Indexed 1 visible papers" in capsys.readouterr().out


def test_it_verifies_no_more_than_the_cap_and_says_the_count_is_approximate():
    for n in range(130):
        PaperFactory(title=f"Speech Recognition Study {n}")

    first = papers_search("speech recognition", page=1, page_size=10, max_checked=40)
    far = papers_search("speech recognition", page=6, page_size=10, max_checked=40)

    assert len(first.papers) == 10 and first.has_next
    assert not first.count_is_exact and first.count == 130  # counted in the index, all verified so far
    assert first.checked <= 40
    assert far.papers == [] and far.limited and far.checked <= 40


def test_it_tells_a_too_deep_page_apart_from_no_results(client, settings):
    for n in range(3):
        PaperFactory(title=f"Speech Recognition Study {n}")

    none = client.get("/search/", {"q": "zebrafish"}).content.decode()
    found = client.get("/search/", {"q": "speech", "page": 2}).content.decode()

    assert "No papers match" in none
    assert "3 papers match" in found  # a page past the end shows the last page


def test_it_rate_limits_search_per_address(client):
    limit = int(RATE_SEARCH.split("/")[0])
    for _ in range(limit):
        assert client.get("/search/", {"q": "a"}).status_code == 200
    assert client.get("/search/", {"q": "a"}).status_code == 429


def test_it_limits_statements_in_the_web_process_only():
    """wsgi.py marks the web process; its PostgreSQL connections get statement_timeout, commands none."""
    require_service(connection.vendor == "postgresql", "statement_timeout is PostgreSQL's (set DATABASE_URL)")
    probe = ("import django; django.setup(); from django.db import connection; c = connection.cursor(); "
             "c.execute('SHOW statement_timeout'); print(c.fetchone()[0])")
    # The test database: it exists for the length of the test, the configured one may not (a fresh CI machine).
    db = connection.settings_dict
    login = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    database_url = f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "digest_site.settings", "WEB_STATEMENT_TIMEOUT_MS": "1500",
           "DATABASE_URL": database_url}
    web = subprocess.run([sys.executable, "-c", probe], env={**env, "DIGEST_PROCESS": "web"}, cwd=REPO,
                         capture_output=True, text=True, check=True)
    command = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO,
                             capture_output=True, text=True, check=True)
    assert web.stdout.strip() == "1500ms"
    assert command.stdout.strip() == "0"
