"""What one reader's own settings do to their digest: the trending list, words to
keep out, followed authors and "more / fewer like this" votes (issue 13).

Readers who set none of these get `Selector.select` unchanged (the fast path of
the daily build); `select_tailored` is the one place that applies them:

1. Words to keep out: every new paper an exclusion matches (papers.search, the
   same matcher as keywords) is left out of everything below.
2. Followed authors: their new papers come first, each with the reason
   "author:<name as typed>" (the email's "by an author you follow" line).
3. Keyword matches, ranked as always; with votes, the ranking adds
   subscriptions.feedback's profile score (and leaves out near-copies of papers
   voted "fewer").
4. Trending: "just the trending list" is the window's TRENDING_ONLY best papers by
   trending score (votes re-rank the best TRENDING_POOL of them); "plus the top 3"
   adds the TRENDING_ADDED best that are not already in, after the matches.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from papers.authors import authors_keys
from papers.models import Paper
from subscriptions.feedback import Votes, rerank, terms_of, votes_of
from subscriptions.models import Exclusion, FollowedAuthor, Subscriber

from .content import AUTHOR, TRENDING
from .render import MAX_PAPERS
from .selection import Selection, Selector

Trending = Subscriber.Trending
TRENDING_ONLY = 10
TRENDING_ADDED = 3
TRENDING_POOL = 30  # how deep votes may reach into the trending list


@dataclass(frozen=True)
class Tailoring:
    trending: str = Trending.OFF
    exclusions: tuple[str, ...] = ()  # normalized words
    authors: tuple[tuple[str, str], ...] = ()  # (author_key, name as typed)
    votes: Votes | None = None

    @property
    def plain(self) -> bool:
        return self.trending == Trending.OFF and not self.exclusions and not self.authors and not self.votes


PLAIN = Tailoring()


def tailorings(*, low: int, high: int, trending: dict[int, str]) -> dict[int, Tailoring]:
    """Tailoring of the subscribers with ids in [low, high] who have any (three range queries).

    `trending` is each subscriber's Subscriber.trending, read with the chunk.
    """
    in_range = {"subscriber_id__gte": low, "subscriber_id__lte": high}
    exclusions: dict[int, list[str]] = {}
    for sid, word in Exclusion.objects.filter(**in_range).order_by("id").values_list("subscriber_id", "normalized"):
        exclusions.setdefault(sid, []).append(word)
    authors: dict[int, list[tuple[str, str]]] = {}
    for sid, key, name in FollowedAuthor.objects.filter(**in_range).order_by("id").values_list(
            "subscriber_id", "key", "name"):
        authors.setdefault(sid, []).append((key, name))
    votes = votes_of(low=low, high=high)
    ids = {sid for sid, choice in trending.items() if choice != Trending.OFF} | exclusions.keys() | authors.keys() \
        | votes.keys()
    return {sid: Tailoring(trending.get(sid, Trending.OFF), tuple(exclusions.get(sid, ())),
                           tuple(authors.get(sid, ())), votes.get(sid)) for sid in ids}


def tailoring_of(subscriber: Subscriber) -> Tailoring:
    """One subscriber's Tailoring (the web view and the admin preview)."""
    return tailorings(low=subscriber.pk, high=subscriber.pk, trending={subscriber.pk: subscriber.trending}).get(
        subscriber.pk, PLAIN)


def select_tailored(
    selector: Selector,
    keywords: list[tuple[str, str]],
    start: dt.date,
    *,
    exclude: frozenset[int] = frozenset(),
    tailoring: Tailoring = PLAIN,
    limit: int | None = MAX_PAPERS,
) -> Selection | None:
    """Selector.select with the reader's own settings applied (module docstring); None if nothing to send."""
    if tailoring.plain:
        return selector.select(keywords, start, exclude=exclude, limit=limit)
    out = set(exclude)
    for word in tailoring.exclusions:
        out.update(selector.scores(word, start))
    reasons: dict[int, str] = {}
    for pid, name in _by_authors(selector, tailoring.authors, start):
        if pid not in out:
            reasons.setdefault(pid, AUTHOR + name)
    ranked: list[int] = []
    matched: dict[int, list[str]] = {}
    terms: dict[int, list[str]] = {}
    total = 0
    if tailoring.trending != Trending.ONLY and keywords:
        found = selector.select(keywords, start, exclude=frozenset(out),
                                limit=None if tailoring.votes or limit is None else limit)
        if found is not None:
            ranked, matched, terms, total = found.papers, found.matched, found.terms, found.total
            if tailoring.votes:
                scores = [selector.scores(key, start) for key in {k for _, k in keywords}]
                ranked = _reranked([(p, selector.boost[p] + sum(s.get(p, 0.0) for s in scores)) for p in ranked],
                                   tailoring.votes)
    in_ranked = set(ranked)
    authored = [p for p in reasons if p not in in_ranked] + [p for p in ranked if p in reasons]
    papers = authored + [p for p in ranked if p not in reasons]
    if tailoring.trending == Trending.ONLY:
        # The window's trending order is shared by every reader: take only the head this one needs.
        depth = TRENDING_POOL if tailoring.votes else TRENDING_ONLY
        pool = list(islice((p for p in _trending(selector, start) if p not in out and p not in reasons), depth))
        if tailoring.votes:
            pool = _reranked([(p, selector.boost[p]) for p in pool], tailoring.votes)
        best = pool[:TRENDING_ONLY]
        reasons.update(dict.fromkeys(best, TRENDING))
        papers += best
    elif tailoring.trending == Trending.TOP3:
        if limit is not None:
            papers = papers[: max(limit - TRENDING_ADDED, 0)]
        taken = set(papers)
        added = list(islice((p for p in _trending(selector, start) if p not in out and p not in taken),
                            TRENDING_ADDED))
        reasons.update(dict.fromkeys(added, TRENDING))
        papers += added
    if limit is not None:
        papers = papers[:limit]
    if not papers:
        return None
    shown = set(papers)
    return Selection(
        papers=papers,
        matched={p: matched.get(p, []) for p in papers},
        terms={p: terms.get(p, []) for p in papers},
        total=max(total, 0) + sum(1 for p in shown if p not in matched),
        reasons={p: r for p, r in reasons.items() if p in shown},
    )


def _reranked(ranked: list[tuple[int, float]], votes: Votes) -> list[int]:
    ids: Iterable[int] = [p for p, _ in ranked] + list(votes.more) + list(votes.fewer)
    return rerank(ranked, votes, terms_of(set(ids)))


def _trending(selector: Selector, start: dt.date) -> list[int]:
    """The window's new papers, best trending score first (cached per build and window)."""
    key = ("trending", start)
    order = selector.extras.get(key)
    if order is None:
        boost = selector.boost
        order = selector.extras[key] = sorted(
            (p for p, first in selector.first_listed.items() if first >= start), key=lambda p: (-boost[p], -p))
    return order


def _by_authors(selector: Selector, authors: tuple[tuple[str, str], ...], start: dt.date) -> list[tuple[int, str]]:
    """(paper, followed name) of the window's new papers by these authors, best trending first.

    The candidates' author lists are read once per build, by the first reader who follows anyone.
    """
    if not authors:
        return []
    index = selector.extras.get("authors")
    if index is None:
        index = selector.extras["authors"] = {}
        rows = Paper.objects.filter(pk__in=list(selector.first_listed)).values_list("id", "authors")
        for pid, names in rows.iterator(chunk_size=2000):
            for key in authors_keys(names or ()):
                index.setdefault(key, []).append(pid)
    found = {}
    for key, name in authors:
        for pid in index.get(key, ()):
            if selector.first_listed[pid] >= start:
                found.setdefault(pid, name)
    return sorted(found.items(), key=lambda item: (-selector.boost[item[0]], -item[0]))
