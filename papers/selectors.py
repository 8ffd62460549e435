"""Reads of papers that more than one caller needs: trending lists and listing days.

The trending score (also documented in docs/site.md)
----------------------------------------------------
For a paper, as of a date `as_of`, using only listings dated on or before it::

    base  = LISTING_WEIGHT * listings                # how many lists it appeared on
          + RANK_WEIGHT / best_rank                  # 1st place adds 3, 3rd adds 1, 30th adds 0.1
          + UPVOTE_WEIGHT * log2(1 + upvotes)        # 1 upvote adds 1, 255 add 8: diminishing returns
          + FEATURED_BOOST if an editor featured it  # worth about a thousand upvotes
    score = base * 0.5 ** (age_days / HALF_LIFE_DAYS)

`upvotes` is the larger of the paper's own count and the best count seen on a
listing; `age_days` counts from the paper's latest listing (its publication
date when it has none, the creation date as a last resort) to `as_of`, never
below zero. So the score halves every two days a paper goes without being
listed again, a second listing lifts it, and featuring puts an editor's pick
near the top of its day without freezing it there forever (the boost decays
with the rest). Hidden papers are left out of trending lists.

Every function here runs a fixed number of queries, whatever the number of papers.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet

from .models import Listing, Paper

LISTING_WEIGHT = 1.0
RANK_WEIGHT = 3.0
UPVOTE_WEIGHT = 1.0
FEATURED_BOOST = 10.0
HALF_LIFE_DAYS = 2.0

# Keeps each `id IN (...)` well under SQLite's bound-parameter limit.
_ID_CHUNK = 5000

# What a reader calls each source: the admin's labels name the feeds (an API,
# a listing page), which mean nothing on the public site.
PUBLIC_SOURCE_NAMES = {
    Listing.Source.HF_PAGE: "Hugging Face papers",
    Listing.Source.HF_JSON: "Hugging Face papers",
    Listing.Source.ARXIV_LISTING: "arXiv",
    Listing.Source.ARXIV_ATOM: "arXiv",
}

# A paper page shows its place on at most this many recent days (3 queries each).
TRENDING_DAYS_SHOWN = 10


@dataclass(frozen=True)
class TrendingDay:
    """A paper's place on one day's trending list, numbered as that day's page numbers it."""

    day: dt.date
    place: int
    of: int
    upvotes: int
    sources: tuple[str, ...]


def trending_score(
    *,
    listings: int,
    best_rank: int | None,
    upvotes: int,
    is_featured: bool,
    age_days: float,
) -> float:
    """The formula in the module docstring, for one paper's aggregated numbers."""
    base = LISTING_WEIGHT * listings + UPVOTE_WEIGHT * math.log2(1 + max(upvotes, 0))
    if best_rank:
        base += RANK_WEIGHT / best_rank
    if is_featured:
        base += FEATURED_BOOST
    return base * 0.5 ** (max(age_days, 0.0) / HALF_LIFE_DAYS)


def papers_with_listing_stats(queryset: QuerySet[Paper], as_of: dt.date) -> QuerySet[Paper]:
    """The queryset annotated with listing_count, best_rank, last_listed_on, listing_upvotes as of a date."""
    # Listings after `as_of` are ignored, so an archive day ranks as it did that day.
    counted = Q(listings__listed_on__lte=as_of)
    return queryset.annotate(
        listing_count=Count("listings", filter=counted),
        # rank 0 means "position unknown"; it must not read as first place.
        best_rank=Min("listings__rank", filter=counted & Q(listings__rank__gt=0)),
        last_listed_on=Max("listings__listed_on", filter=counted),
        listing_upvotes=Max("listings__upvotes", filter=counted),
    )


def _score(paper: Paper, as_of: dt.date) -> float:
    seen_on = paper.last_listed_on or paper.published_on or paper.created_at.date()
    paper.upvote_count = max(paper.upvotes or 0, paper.listing_upvotes or 0)
    paper.trending_score = trending_score(
        listings=paper.listing_count,
        best_rank=paper.best_rank,
        upvotes=paper.upvote_count,
        is_featured=paper.is_featured,
        age_days=(as_of - seen_on).days,
    )
    return paper.trending_score


def papers_trending(
    *,
    day: dt.date | None = None,
    since: dt.date | None = None,
    limit: int | None = None,
    include_hidden: bool = False,
) -> list[Paper]:
    """Papers listed in a window, best trending score first.

    - `day` only: the papers listed that day, scored as of that day.
    - `since` (with or without `day`): papers listed from `since` up to `day`
      (or up to the latest listing), scored as of the window's last listing day.
    - neither: the latest listing day (what the home page shows).

    Each paper carries `.trending_score`, `.upvote_count`, `.listing_count`,
    `.best_rank`, `.last_listed_on`, and its listings prefetched (newest first).
    Ties go to the better rank, then the newer paper. Three queries, whatever the count.
    """
    if day is None and since is None:
        day = latest_listing_date()
        if day is None:
            return []
    window = Listing.objects.all()
    if since is not None:
        window = window.filter(listed_on__gte=since)
        if day is not None:
            window = window.filter(listed_on__lte=day)
    else:
        window = window.filter(listed_on=day)
    if not include_hidden:
        window = window.filter(paper__is_hidden=False)
    as_of = day
    if as_of is None:
        as_of = window.aggregate(last=Max("listed_on"))["last"]
        if as_of is None:
            return []
    papers = list(
        papers_with_listing_stats(Paper.objects.filter(id__in=window.values("paper_id")), as_of).prefetch_related(
            Prefetch("listings", queryset=Listing.objects.order_by("-listed_on", "rank"))
        )
    )
    for paper in papers:
        _score(paper, as_of)
    papers.sort(key=lambda p: (-p.trending_score, p.best_rank or math.inf, -p.id))
    return papers[:limit] if limit is not None else papers


def paper_trending_scores(*, paper_ids: Iterable[int], as_of: dt.date) -> dict[int, float]:
    """The trending score of each given paper as of a date, keyed by paper id.

    Hidden papers are scored too (callers choose what to show); unknown ids are
    left out. One query per 5,000 ids.
    """
    ids = sorted(set(paper_ids))
    scores: dict[int, float] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        query = papers_with_listing_stats(Paper.objects.filter(id__in=chunk), as_of).only(
            "id", "upvotes", "is_featured", "published_on", "created_at"
        )
        for paper in query:
            scores[paper.id] = _score(paper, as_of)
    return scores


def paper_trending_days(*, paper: Paper, listings: Iterable[Listing]) -> list[TrendingDay]:
    """The days a paper was listed, newest first, with its place in `papers_trending(day=…)`.

    The place is the paper's position on that day's page (and the home page), not
    the rank a source gave it: those differ once upvotes, earlier days and featuring
    count. Shows the latest TRENDING_DAYS_SHOWN days; three queries per day.
    """
    by_day: dict[dt.date, list[Listing]] = {}
    for listing in listings:
        by_day.setdefault(listing.listed_on, []).append(listing)
    days = []
    for day in sorted(by_day, reverse=True)[:TRENDING_DAYS_SHOWN]:
        ids = [p.id for p in papers_trending(day=day, include_hidden=paper.is_hidden)]
        if paper.id not in ids:
            continue
        sources = dict.fromkeys(PUBLIC_SOURCE_NAMES.get(item.source, item.source) for item in by_day[day])
        days.append(TrendingDay(
            day=day, place=ids.index(paper.id) + 1, of=len(ids),
            upvotes=max(item.upvotes for item in by_day[day]), sources=tuple(sources),
        ))
    return days


def latest_listing_date() -> dt.date | None:
    """The most recent day on which a visible paper was listed, or None when nothing is.

    The first row down the listed_on index, not Max(): PostgreSQL plans Max() over the
    join as a scan of every paper (322 ms at 300,000 papers, once per keyword preview)
    and this as a backward index walk that stops at the first visible paper (0.1 ms).
    """
    return _visible_listings().order_by("-listed_on").values_list("listed_on", flat=True).first()


def listing_day_before(day: dt.date) -> dt.date | None:
    """The closest earlier day with a visible listing (the archive's "previous day")."""
    earlier = _visible_listings().filter(listed_on__lt=day).order_by("-listed_on")
    return earlier.values_list("listed_on", flat=True).first()


def listing_day_after(day: dt.date) -> dt.date | None:
    """The closest later day with a visible listing (the archive's "next day")."""
    later = _visible_listings().filter(listed_on__gt=day).order_by("listed_on")
    return later.values_list("listed_on", flat=True).first()


def _visible_listings() -> QuerySet[Listing]:
    return Listing.objects.filter(paper__is_hidden=False)
