"""Property-based: whatever text is imported, the service answers with counts or an error, never an exception."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers.parsers import FORMATS
from papers.services import papers_import_text
from tests.papers.test_parse_fuzz import ANY_TEXT

VALID_RECORDS = st.sampled_from([
    "Get trending papers in your email inbox!\n\nMar 11\n\n",
    "A Title \x00 With Junk\n\n",
    "An abstract line that goes on. " * 12 + "\n",
    "arXiv:2202.03052",
    '[{"paper": {"id": "2202.03052", "title": "T\\u0000itle", "upvotes": 99999999999}}]',
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2202.03052v1</id>'
    "<title>T</title><summary>\x01 x</summary></entry></feed>",
])
TEXT = st.one_of(ANY_TEXT, st.lists(st.one_of(VALID_RECORDS, ANY_TEXT), max_size=6).map("".join))


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ("auto",) + FORMATS)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_it_never_raises_whatever_the_text(fmt, text):
    result = papers_import_text(text=text, name="fuzz.txt", format=fmt)
    if result.error is not None:
        assert re.match(r"^fuzz\.txt:\d+: \S", result.error), result.error
        assert result.created == result.updated == result.unchanged == 0
    else:
        assert result.format in FORMATS
