"""Properties of the matcher that must hold for any input (hypothesis).

- normalizing twice changes nothing, and matching the normalized form finds what
  matching the text finds (subscriptions store the normalized form);
- any run of words copied from a paper, in any case and with hyphens, spaces or
  nothing between the words, finds that paper (no filter in the index may drop it),
  unless it was copied from an availability line or a background list (papers.salience);
- nothing crashes on arbitrary text, on either side.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers.salience import quiet_ranges
from papers.search import KeywordError, PaperIndex, normalize_keyword
from tests.conftest import DATA

PAPERS = json.loads((DATA / "matching" / "papers.json").read_text(encoding="utf-8"))
WORD = re.compile(r"[^\W_]+")
BREAKS = re.compile(r"[.,;:!?()\[\]{}\"“”«»<>|]")


@lru_cache(maxsize=1)
def fixture_index() -> PaperIndex:
    return PaperIndex.build((n, p["title"], p["abstract"]) for n, p in enumerate(PAPERS, start=1))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_it_normalizes_idempotently(text):
    once = normalize_keyword(text)
    assert normalize_keyword(once) == once


keyword_words = st.sampled_from(
    "pre training Pre-Training auto regressive BERT GPT-3 few shot graph neural network networks "
    "retrieval retrieving masked auto-encoder Transformers non co re multi modal LoRA mBERT "
    "object detectors speech recognition diffusion models contrastive learning knowledge distillation".split()
)


@settings(max_examples=300, deadline=None)
@given(st.lists(keyword_words, min_size=1, max_size=4), st.lists(st.sampled_from([" ", "-", "  ", " - "]), min_size=3))
def test_it_matches_the_normalized_form_exactly_like_the_text(words, separators):
    keyword = words[0] + "".join(sep + word for sep, word in zip(separators, words[1:], strict=False))
    index = fixture_index()
    assert index.match(normalize_keyword(keyword)) == index.match(keyword)


@st.composite
def phrase_from_a_paper(draw):
    """(paper number, a run of 1-4 consecutive words of it re-spelled as a reader might)."""
    number = draw(st.integers(min_value=1, max_value=len(PAPERS)))
    paper = PAPERS[number - 1]
    text = draw(st.sampled_from([paper["title"], paper["abstract"]]))
    words = list(WORD.finditer(text))
    start = draw(st.integers(min_value=0, max_value=len(words) - 1))
    end = min(len(words), start + draw(st.integers(min_value=1, max_value=4)))
    run = words[start:end]
    between = [text[a.end() : b.start()] for a, b in zip(run, run[1:], strict=False)]
    if any(BREAKS.search(gap) for gap in between) or any("'" in gap or "’" in gap for gap in between):
        return number, None  # punctuation ends a phrase: not one phrase
    if start and text[run[0].start() - 1] in "'’":
        return number, None  # the "s" of a possessive is not a word of the text
    if text is paper["abstract"] and any(a <= run[0].start() < b for a, b in quiet_ranges(text)):
        return number, None  # a release line or a list of examples: not what the paper is about
    separators = [draw(st.sampled_from([gap, " ", "-"])) if gap.strip(" -") == "" else gap for gap in between]
    plain = not any(_acronymish(w.group()) for w in run)
    closed = plain and len(run) == 2 and all(w.group().isalpha() for w in run) and draw(st.booleans())
    if closed:
        separators = [""]  # written closed: "few shot" -> "fewshot"
    phrase = run[0].group() + "".join(sep + w.group() for sep, w in zip(separators, run[1:], strict=False))
    if closed or (plain and draw(st.booleans())):
        phrase = phrase.lower()  # closed "Scalable Autoregressive" is no CamelCase name
    return number, phrase


def _acronymish(word: str) -> bool:
    return len(word) > 1 and not word[1:].islower()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(phrase_from_a_paper())
def test_it_finds_the_paper_any_phrase_was_copied_from(sample):
    number, phrase = sample
    if phrase is None:
        return
    found = {m.paper_id for m in fixture_index().match(phrase, expand=False)}
    assert number in found, phrase


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=60))
def test_it_never_crashes_on_arbitrary_text(title, abstract, keyword):
    index = PaperIndex.build([(1, title, abstract)])
    try:
        matches = index.match(keyword)
    except KeywordError:
        return
    for match in matches:
        assert match.paper_id == 1
        assert all(term in title or term in abstract for term in match.terms)


def test_a_bound_prefix_written_with_compatibility_characters_normalizes_once():
    # "cº" folds to the prefix "co" (found by the idempotency property above).
    once = normalize_keyword("cº:A")
    assert normalize_keyword(once) == once == "coa"
