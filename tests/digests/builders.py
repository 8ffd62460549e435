"""A day of papers and readers for the digest tests: listed papers, readers with keywords, what they got."""
from __future__ import annotations

import datetime as dt

from papers.models import Paper
from subscriptions.models import Digest, Subscriber
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

DAY = dt.date(2024, 3, 12)  # a Tuesday


def listed(title: str, day: dt.date = DAY, *, abstract: str = "", upvotes: int = 0, **fields) -> Paper:
    """A paper listed on `day` (the listing re-indexes it for search)."""
    paper = PaperFactory(title=title, abstract=abstract or "We report results.", upvotes=upvotes,
                         search_entry=False, **fields)
    ListingFactory(paper=paper, listed_on=day, upvotes=upvotes)
    return paper


def reader(*keywords: str, **fields) -> Subscriber:
    subscriber = SubscriberFactory(**fields)
    for text in keywords:
        KeywordFactory(subscriber=subscriber, text=text)
    return subscriber


def titles(subscriber: Subscriber, day: dt.date = DAY) -> list[str]:
    """The titles of the subscriber's digest of `day`, in the digest's order."""
    digest = Digest.objects.get(subscriber=subscriber, digest_date=day)
    by_id = dict(Paper.objects.filter(pk__in=digest.papers).values_list("id", "title"))
    return [by_id[p] for p in digest.papers]
