"""The demo data set that `make demo` imports, and the import benchmark command."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from papers.models import Listing, Paper
from papers.services import papers_import_text

pytestmark = pytest.mark.django_db

DEMO_DIR = Path(settings.BASE_DIR) / "papers" / "demo_data"


def _import_demo():
    results = []
    for path in sorted(DEMO_DIR.iterdir()):
        results.append(papers_import_text(text=path.read_text(encoding="utf-8"), name=path.name))
    return results


def test_it_ships_demo_data_that_imports_cleanly_and_idempotently():
    first = _import_demo()
    assert [r.error for r in first] == [None]
    assert (first[0].format, first[0].created, first[0].updated, first[0].skipped) == ("hf-json", 31, 1, 0)
    papers = list(Paper.objects.all())
    assert len(papers) == 31
    assert all(p.arxiv_id and p.title and len(p.abstract) > 300 and p.authors and p.upvotes for p in papers)
    assert sum(1 for p in papers if p.github_url.startswith("https://github.com/")) >= 15
    assert Listing.objects.values("listed_on").distinct().count() == 3
    again = _import_demo()
    assert (again[0].created, again[0].updated, again[0].unchanged) == (0, 0, 32)


@pytest.mark.parametrize(
    "pattern",
    [r"pre-?train", r"retriev", r"diffusion", r"speech recognition", r"graph neural network", r"\bBERT\b", r"\bGPT\b",
     r"few-shot", r"autoregressive"],
)
def test_it_gives_demo_subscribers_papers_to_match(pattern):
    _import_demo()
    latest = Listing.objects.order_by("-listed_on").values_list("listed_on", flat=True).first()
    # The demo digests go out for the latest day: each demo keyword finds something there.
    latest_texts = [f"{p.title} {p.abstract}" for p in Paper.objects.filter(listings__listed_on=latest)]
    assert len(latest_texts) >= 10
    assert any(re.search(pattern, text, re.IGNORECASE) for text in latest_texts)


def test_it_benchmarks_an_import_and_cleans_up_after_itself():
    out = io.StringIO()
    call_command("bench_import", papers=40, stdout=out)
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"bench: import papers=40 seconds=[\d.]+ papers_per_s=\d+ file_mb=[\d.]+", lines[0])
    assert re.fullmatch(r"bench: reimport_unchanged papers=40 seconds=[\d.]+ papers_per_s=\d+ unchanged=40", lines[1])
    assert not Paper.objects.filter(arxiv_id__startswith="9901.").exists()
