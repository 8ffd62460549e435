"""Highlighting follows its rule (the email's <mark> and the site's are the same cut)."""
from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from digests.content import MARK_OPEN, mark
from papers.search import highlight

# Letters, digits, accents, punctuation and spaces: enough to hit every token boundary rule.
ALPHABET = "aAbBeEtTrRsS0123é ü-_.,'’$()\n"


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=60), picks=st.lists(st.tuples(st.integers(0, 59), st.integers(1, 8)),
                                                                  max_size=4))
def test_highlight_follows_the_rule_that_a_regex_states(text, picks):
    terms = tuple(text[a : a + n] for a, n in picks if text[a : a + n].strip())

    assert str(highlight(text, terms)) == highlight_by_regex(text, terms)
    assert mark(text, terms) == highlight_by_regex(text, terms).replace("<mark>", MARK_OPEN)


def highlight_by_regex(text: str, terms: tuple[str, ...]) -> str:
    """The highlighting rule written as a regex (the reference; papers.search uses str.find for speed):
    whole tokens only, leftmost first, the longest alternative first at one position."""
    wanted = sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    if not wanted:
        return html.escape(text)

    def bounded(term: str) -> str:
        lead = r"(?<![^\W\d_])" if term[0].isalpha() else r"(?<!\d)" if term[0].isdigit() else ""
        tail = r"(?![^\W\d_])" if term[-1].isalpha() else r"(?!\d)" if term[-1].isdigit() else ""
        return lead + re.escape(term) + tail

    out, last = [], 0
    for m in re.finditer("|".join(map(bounded, wanted)), text):
        out += [html.escape(text[last : m.start()]), "<mark>", html.escape(m.group()), "</mark>"]
        last = m.end()
    return "".join(out) + html.escape(text[last:])


def test_mark_keeps_whole_tokens_and_escapes():
    marked = mark("RoBERTa beats BERT <b>&</b> BERTs", ("BERT", "<b>"))

    assert marked == (f"RoBERTa beats {MARK_OPEN}BERT</mark> {MARK_OPEN}&lt;b&gt;</mark>&amp;&lt;/b&gt; BERTs")
