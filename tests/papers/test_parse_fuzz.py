"""Property-based: whatever text arrives, parsers answer with papers or a ParseError, never a crash."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers.parsers import FORMATS, ParsedPaper, ParseError, detect_format, get_parser, page_date

# Fragments of every format, so generated text reaches deep into each parser
# instead of failing at the first character.
FRAGMENTS = st.sampled_from([
    "new", "Get trending papers in your email inbox!", "Subscribe", "SubscribeA Title",
    "byAK and the research community",
    "Mar 11", "Feb 29", "March 11, 2024", "2024-02-30", "arXiv:2202.03052", "arXiv:1412.69803D",
    "arXiv:hep-th/9901001v2",
    "23 pages, 11 figures", "A Title: With a Subtitle", "This is a sentence. " * 8, "Why? Because!", "\n", "\n\n",
    "<feed xmlns=\"http://www.w3.org/2005/Atom\">", "</feed>", "<entry>", "</entry>", "<id>http://arxiv.org/abs/2202.03052v1</id>",
    "<id>http://arxiv.org/api/errors#x</id>", "<title>T</title>", "<summary>S $k$</summary>",
    "<published>2022-13-45</published>",
    "<author><name>A</name></author>", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "&a;", "&amp;", "<![CDATA[x]]>",
    "[", "]", "{", "}", ",", ":", "\"paper\"", "\"id\"", "\"2202.03052\"", "\"title\"", "\"publishedAt\"",
    "\"upvotes\"",
    "\"authors\"", "[{\"name\": 1}]", "null", "true", "1e999", "-5", "9" * 30, "\"2024-03-11T09:00:00.000Z\"",
    "\"0001-01-01T00:00:00+05:00\"", "\x00", "\ufeff", "\ud800", "\x0c", "\r\n", "\t",
])
STRUCTURED = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(), STRUCTURED)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_all(fmt: str, text: str) -> list[ParsedPaper]:
    try:
        return list(get_parser(fmt)(text))
    except ParseError as exc:
        assert isinstance(exc.line, int) and exc.line >= 0
        assert exc.message
        return []


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(text=ANY_TEXT)
def test_it_only_ever_raises_parse_error(fmt, text):
    for paper in _parse_all(fmt, text):
        assert isinstance(paper, ParsedPaper)
        assert paper.arxiv_id or paper.title
        assert "\x00" not in paper.title + paper.abstract + paper.comments


@SETTINGS
@given(text=ANY_TEXT)
def test_it_detects_a_format_or_raises_parse_error(text):
    try:
        assert detect_format(text) in FORMATS
    except ParseError as exc:
        assert exc.line == 1
    page_date(text)  # never raises either


@pytest.mark.parametrize("fmt", ["hf-json", "arxiv-atom"])
def test_it_survives_deep_nesting(fmt):
    text = "[" * 100_000 if fmt == "hf-json" else "<feed>" + "<a>" * 100_000
    assert _parse_all(fmt, text) == []
