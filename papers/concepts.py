"""The concepts a paper page offers as keywords to follow ("Get papers like this by email").

Hugging Face's `ai_keywords` when the source gave them; otherwise what a title
names on its own: the short name before a colon ("VL-GPT: …" → "VL-GPT") and
acronym-like words ("LoRA", "BERT"). Every suggestion is checked with the
matcher, so following it finds at least this paper.
"""
from __future__ import annotations

import re

from .models import Paper
from .search import KeywordError, PaperIndex

MAX_CONCEPTS = 6
_ACRONYM = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9-]*\b")


def paper_concepts(paper: Paper) -> list[str]:
    """Up to MAX_CONCEPTS keywords that match this paper, best first."""
    candidates = [k for k in (paper.ai_keywords or []) if isinstance(k, str)]
    title = paper.title or ""
    head, colon, _ = title.partition(":")
    if colon and 0 < len(head.split()) <= 4:
        candidates.append(head.strip())
    candidates += _ACRONYM.findall(title)
    index = PaperIndex.build([(paper.pk or 0, title, paper.abstract or "")])
    found: dict[str, str] = {}
    for text in candidates:
        text = " ".join(text.split())[:100]
        try:
            if text and text.lower() not in found and index.match(text):
                found[text.lower()] = text
        except KeywordError:
            continue
        if len(found) == MAX_CONCEPTS:
            break
    return list(found.values())
