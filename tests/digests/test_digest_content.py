"""Highlighting follows its rule, and the email's fast LaTeX says what the shared conversion says."""
from __future__ import annotations

import html
import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from digests.content import MARK_OPEN, mark, readable
from papers.latex import latex_to_text
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


SENTENCES = [
    "We propose a method that is $\\mathcal{O}(n \\log n)$ instead of $O(n^2)$.",
    "It runs 5times faster when $k \\ge 3$ and the dataset is huge.",
    "Results hold for kge3 layers (see Table 1).",
    "Unlike prior work, we use \\textbf{no} labels; accuracy rises by 3.2%.",
    "A plain sentence with no LaTeX at all.",
    "Our bound $\\sum_{i=1}^{n} x_i \\leq C$ is tight. Surprisingly, so is the lower one.",
    "E.g. the model ($\\alpha = 0.5$) wins.",
]


def test_readable_converts_like_latex_to_text_on_the_whole_text():
    rng = random.Random(11)
    for _ in range(300):
        text = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 6)))
        assert readable(text) == latex_to_text(text), text


def test_readable_keeps_prices_and_math_of_different_sentences_apart():
    # On the whole text the price's dollars pair up with the next sentence's math.
    text = "Costs fall from $5 to $3 per run. E.g. the model ($\\alpha = 0.5$) wins."

    assert readable(text) == "Costs fall from $5 to $3 per run. E.g. the model (α = 0.5) wins."
