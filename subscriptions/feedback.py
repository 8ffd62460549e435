"""What a reader's votes do to their ranking (reads only).

Each "more like this" or "fewer like this" vote names a paper. Papers become
TF-IDF vectors over the matcher's stems (papers.similarity); a reader's profile
is the centroid of their "more" papers and the centroid of their "fewer" papers.
A candidate paper p then gets

    feedback(p) = FEEDBACK_WEIGHT * (cos(p, more) - cos(p, fewer))

added to its keyword rank (subscriptions' digest selection), so papers like the
ones they asked more of move up and papers like the ones they asked fewer of move
down. A paper closer to one of their "fewer" papers than FEWER_CUTOFF, and closer
to it than to any "more" paper, is left out altogether. Readers without votes
are ranked exactly as before (this module is not called for them).

The weights were chosen on the simulated readers of `manage.py evaluate_feedback`
(docs/matching.md, "Reader feedback"), which is also where the gain is measured.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from papers.models import Paper
from papers.similarity import TermSpace, centroid, cosine, paper_terms

from .models import Vote

FEEDBACK_WEIGHT = 16.0
FEWER_CUTOFF = 0.5


@dataclass(frozen=True)
class Votes:
    more: tuple[int, ...]
    fewer: tuple[int, ...]

    def __bool__(self) -> bool:
        return bool(self.more or self.fewer)


def votes_of(*, low: int, high: int) -> dict[int, Votes]:
    """{subscriber id: Votes} for those with ids in [low, high] who voted (one query); others are absent."""
    more: dict[int, list[int]] = {}
    fewer: dict[int, list[int]] = {}
    rows = Vote.objects.filter(subscriber_id__gte=low, subscriber_id__lte=high).order_by("id")
    for sid, pid, value in rows.values_list("subscriber_id", "paper_id", "value"):
        (more if value > 0 else fewer).setdefault(sid, []).append(pid)
    return {sid: Votes(tuple(more.get(sid, ())), tuple(fewer.get(sid, ()))) for sid in more.keys() | fewer.keys()}


def terms_of(paper_ids: Iterable[int]) -> dict[int, Counter]:
    """paper_terms of each paper (one query)."""
    rows = Paper.objects.filter(pk__in=list(paper_ids)).values_list("id", "title", "abstract", "ai_keywords")
    return {pid: paper_terms(title, abstract, keywords or ()) for pid, title, abstract, keywords in rows}


def feedback_scores(votes: Votes, terms: dict[int, Counter], candidates: Iterable[int]) -> dict[int, float | None]:
    """{candidate: what the votes add to its rank, or None to leave it out}.

    `terms` holds paper_terms of every candidate and every voted paper (missing
    voted papers, e.g. deleted since, are ignored).
    """
    space = TermSpace(terms.items())
    more_vectors = [space.vector(p) for p in votes.more if p in space]
    fewer_vectors = [space.vector(p) for p in votes.fewer if p in space]
    more, fewer = centroid(more_vectors), centroid(fewer_vectors)
    out: dict[int, float | None] = {}
    for pid in candidates:
        if pid not in space:
            continue
        v = space.vector(pid)
        closest_fewer = max((cosine(v, f) for f in fewer_vectors), default=0.0)
        closest_more = max((cosine(v, m) for m in more_vectors), default=0.0)
        if closest_fewer > FEWER_CUTOFF and closest_fewer > closest_more:
            out[pid] = None
        else:
            out[pid] = FEEDBACK_WEIGHT * (cosine(v, more) - cosine(v, fewer))
    return out


def rerank(ranked: list[tuple[int, float]], votes: Votes, terms: dict[int, Counter]) -> list[int]:
    """(paper, keyword rank) best first → papers best first once the votes count; some may be left out."""
    extra = feedback_scores(votes, terms, [pid for pid, _ in ranked])
    kept = [(score + extra[pid], pid) for pid, score in ranked if extra.get(pid, 0.0) is not None]
    kept.sort(key=lambda item: (-item[0], -item[1]))
    return [pid for _, pid in kept]


def papers_like(paper_id: int, among: Iterable[int], *, limit: int = 3) -> list[int]:
    """The papers of `among` most like `paper_id` (what a vote moves), best first."""
    ids = set(among) - {paper_id}
    terms = terms_of(ids | {paper_id})
    if paper_id not in terms:
        return []
    space = TermSpace(terms.items())
    target = space.vector(paper_id)
    scored = sorted(((cosine(target, space.vector(p)), p) for p in ids if p in space), reverse=True)
    return [p for score, p in scored[:limit] if score > 0.05]
