"""Where a sentence ends in a title or abstract: the one rule for cutting abstracts.

Used by the site's "lead + more" cut of an abstract (`split_lead`) and by the
sentence-wise LaTeX conversion (papers.latex.latex_to_text), so the two can
never disagree about what a sentence is.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence's last character: ".", "!" or "?" followed by white space and what
# starts a sentence (a capital, a digit, a bracket or a quote). "e.g. the" and
# "3.5" are not sentence ends.
SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z0-9(\"'])")

# An abstract longer than this is cut into a lead and a "more" part.
ABSTRACT_LEAD_CHARS = 320


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> Iterator[int]:
    """The positions just after each sentence's last character, in order."""
    for match in SENTENCE_END.finditer(text, start, len(text) if end is None else end):
        yield match.end()


def split_lead(text: str, lead_chars: int = ABSTRACT_LEAD_CHARS) -> tuple[str, str]:
    """Cut text into (lead, rest) at a sentence end near `lead_chars`, else at a space.

    Short texts are not cut (rest is ""): a "more" that reveals three words is noise.
    """
    text = (text or "").strip()
    if len(text) <= lead_chars * 1.4:
        return text, ""
    cut = None
    for position in sentence_ends(text, 0, lead_chars + 80):
        if position >= lead_chars * 0.4:
            cut = position
            if cut >= lead_chars:
                break
    if cut is None:
        cut = text.rfind(" ", 0, lead_chars)
        if cut <= 0:
            cut = lead_chars
    return text[:cut].rstrip(), text[cut:].strip()
