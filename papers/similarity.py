"""How alike two papers are, in the matcher's own terms: TF-IDF vectors over the
stems papers.search_keys makes (so "pre-training" and "pretrained" are one term),
compared by cosine.

Used by a reader's "more / fewer like this" votes (subscriptions.feedback): a few
dozen papers at a time, so plain dicts are enough. Why not scikit-learn's
TfidfVectorizer: it would need the same analyzer (our tokens and stems) passed in,
and numpy + scipy + scikit-learn for vectors of a few dozen documents.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from .search_keys import TOKEN, fold, stem

Vector = dict[str, float]

TITLE_WEIGHT = 2.0  # a title word says more about the paper than one in the abstract
# Words every abstract uses; IDF would weigh them down anyway, but over a few dozen
# papers it cannot tell "model" from "protein", so the commonest go at once.
_STOP = frozenset(
    "the and for with that this from are was were our can has have its into which these their such than also "
    "based using use used show shows paper propose proposed method methods approach results model models "
    "new more both while over two one all not via".split()
)


def paper_terms(title: str, abstract: str, keywords: Iterable[str] = ()) -> Counter:
    """Term counts of a paper (stems), title words and given keywords counted TITLE_WEIGHT times."""
    counts: Counter = Counter()
    for text, weight in ((title or "", TITLE_WEIGHT), (abstract or "", 1.0), (" ".join(keywords), TITLE_WEIGHT)):
        for token in TOKEN.findall(text):
            word = fold(token.lower())
            if len(word) < 3 or word.isdigit() or word in _STOP:
                continue
            counts[stem(word)] += weight
    return counts


class TermSpace:
    """TF-IDF unit vectors of some papers, with IDF from those same papers."""

    def __init__(self, papers: Iterable[tuple[int, Counter]]) -> None:
        self._counts = dict(papers)
        df: Counter = Counter()
        for counts in self._counts.values():
            df.update(counts.keys())
        n = len(self._counts) or 1
        self._idf = {term: math.log((1 + n) / (1 + d)) + 1.0 for term, d in df.items()}
        self._vectors: dict[int, Vector] = {}

    def __contains__(self, paper_id: int) -> bool:
        return paper_id in self._counts

    def vector(self, paper_id: int) -> Vector:
        found = self._vectors.get(paper_id)
        if found is None:
            idf = self._idf
            raw = {t: (1.0 + math.log(c)) * idf[t] for t, c in self._counts[paper_id].items() if c > 0}
            norm = math.sqrt(sum(w * w for w in raw.values())) or 1.0
            found = self._vectors[paper_id] = {t: w / norm for t, w in raw.items()}
        return found


def centroid(vectors: list[Vector]) -> Vector:
    """The mean of unit vectors, scaled back to unit length ({} for none)."""
    total: Counter = Counter()
    for v in vectors:
        total.update(v)
    norm = math.sqrt(sum(w * w for w in total.values()))
    return {t: w / norm for t, w in total.items()} if norm else {}


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two unit vectors (0 when either is empty)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())
