"""The persistent search index: what it finds is what a full scan by the matcher finds.

The seed pages (tests/data/seeds, copied from the real pages we started from) go through
the import, which keeps the index; random keywords (words, phrases, acronyms, hyphenated
forms, re-spelled as people type them) then must find through the index exactly what
PaperIndex over every paper finds. Runs on whichever database the suite uses: SQLite
(FTS5) by default, PostgreSQL (GIN) with DATABASE_URL.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from papers.acronyms import acronym_table
from papers.models import Paper, SearchEntry
from papers.search import KeywordError, PaperIndex
from papers.search_results import papers_matching, papers_search
from papers.services import papers_import_text
from tests.conftest import DATA

pytestmark = pytest.mark.django_db

# The equality checks must not depend on how busy the machine is: no time bounds here
# (tests/papers/test_search_bounds.py checks those).
UNHURRIED = {"budget_seconds": 600, "time_limit_ms": 60_000}
SEEDS = sorted((DATA / "seeds").glob("*.txt"))
WORD = re.compile(r"[^\W_]+")
HYPHENATED = re.compile(r"\b[^\W_]+(?:-[^\W_]+)+\b")
ACRONYM = re.compile(r"\b[A-Z][A-Za-z]*[A-Z][A-Za-z]*s?\b")


@pytest.fixture
def seeded():
    """Every seed page imported; (papers by id, a full-scan PaperIndex, the texts keywords come from)."""
    for path in SEEDS:
        result = papers_import_text(text=path.read_text(encoding="utf-8"), name=path.name)
        assert result.ok, result.error
    papers = list(Paper.objects.all())
    assert len(papers) > 90
    assert SearchEntry.objects.count() == len(papers)
    # The matcher as the site runs it: with the corpus's acronyms (mined by the import).
    full = PaperIndex.build(((p.id, p.title, p.abstract) for p in papers), acronyms=acronym_table())
    texts = [t for p in papers for t in (p.title, p.abstract) if t]
    return papers, full, texts


def spelled(words: list[str], separators: list[str], case: str) -> str:
    text = words[0] + "".join(sep + word for sep, word in zip(separators, words[1:], strict=False))
    return {"as is": text, "lower": text.lower(), "title": text.title()}[case]


@st.composite
def keywords(draw, texts: list[str]) -> str:
    text = draw(st.sampled_from(texts))
    kind = draw(st.sampled_from(["word", "phrase", "acronym", "hyphenated", "invented"]))
    if kind == "acronym" and ACRONYM.search(text):
        return draw(st.sampled_from(ACRONYM.findall(text)))
    if kind == "hyphenated" and HYPHENATED.search(text):
        found = draw(st.sampled_from(HYPHENATED.findall(text)))
        return draw(st.sampled_from([found, found.replace("-", " "), found.replace("-", ""), found.lower()]))
    if kind == "invented":
        return draw(st.sampled_from(["quantum chromodynamics", "zebrafish", "BERTology", "pre-trainedness", "x9"]))
    words = WORD.findall(text)
    size = 1 if kind == "word" else draw(st.integers(min_value=2, max_value=4))
    start = draw(st.integers(min_value=0, max_value=max(len(words) - size, 0)))
    separators = draw(st.lists(st.sampled_from([" ", "-", "", "  "]), min_size=3, max_size=3))
    return spelled(words[start : start + size], separators, draw(st.sampled_from(["as is", "lower", "title"])))


def test_it_finds_through_the_index_what_a_full_scan_finds(seeded):
    papers, full, texts = seeded

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(keywords(texts))
    @example("CPT")  # an acronym the seed pages define: its long forms come from the corpus
    @example("graph neural network")
    def check(keyword):
        try:
            expected = [m.paper_id for m in full.match(keyword)]
        except KeywordError:
            with pytest.raises(KeywordError):
                papers_matching(keyword)
            return
        assert [p.id for p in papers_matching(keyword)] == expected, keyword
        everything = papers_search(keyword, page_size=len(papers), **UNHURRIED)
        assert {p.id for p in everything.papers} == set(expected), keyword
        if len(expected) <= 100:
            assert everything.count_is_exact and everything.count == len(expected), keyword

    check()


def test_it_ranks_title_matches_first_then_by_trending(seeded):
    papers, full, _ = seeded
    results = papers_search("language models", page_size=len(papers), **UNHURRIED)
    in_title = [bool(PaperIndex.build([(p.id, p.title, "")], acronyms=acronym_table()).match("language models"))
                for p in results.papers]

    assert True in in_title and False in in_title
    assert in_title == sorted(in_title, reverse=True)  # every title match before every abstract-only one
    entries = dict(SearchEntry.objects.values_list("paper_id", "trend"))
    for tier in (True, False):
        trends = [entries[p.id] for p, hit in zip(results.papers, in_title, strict=True) if hit is tier]
        assert trends == sorted(trends, reverse=True)


def test_it_pages_through_results_without_repeating_or_losing_a_paper(seeded):
    expected = {m.paper_id for m in seeded[1].match("model")}
    seen = []
    page = 1
    while True:
        results = papers_search("model", page=page, page_size=7, **UNHURRIED)
        seen += [p.id for p in results.papers]
        if not results.has_next:
            break
        page += 1

    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert page > 3
