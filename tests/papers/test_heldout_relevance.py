"""A small held-out regression set for the relevance layers (self-judged; see
tests/data/heldout_relevance.json and docs/matching.md): each paper must match the keywords
it is about and must not match those it is not about."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from papers.search import PaperIndex

DATA = Path(__file__).resolve().parent.parent / "data" / "heldout_relevance.json"
PAPERS = json.loads(DATA.read_text())["papers"]
INDEX = PaperIndex.build((n, p["title"], p["abstract"]) for n, p in enumerate(PAPERS))
CASES = [(n, k, True) for n, p in enumerate(PAPERS) for k in p["about"]] + [
    (n, k, False) for n, p in enumerate(PAPERS) for k in p["not_about"]
]


@pytest.mark.parametrize(("paper", "keyword", "about"), CASES, ids=lambda v: str(v))
def test_held_out_judgement(paper, keyword, about):
    found = {m.paper_id for m in INDEX.match(keyword)}
    assert (paper in found) is about, (PAPERS[paper]["title"], keyword)
