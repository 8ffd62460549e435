"""Reads about subscribers that more than one caller needs (views, admin, emails)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count

from papers.search import KeywordError
from papers.search_results import SearchTooBroad, papers_search
from papers.selectors import latest_listing_date

from .models import Subscriber
from .services.subscribers import KeywordInput
from .tokens import TokenError, subscriber_from_token, token_read

PREVIEW_WINDOW = timedelta(days=30)
PREVIEW_TITLES = 3
PREVIEW_CACHE_SECONDS = 300


def subscriber_from_link(token: str, *, purpose: str) -> Subscriber:
    """The subscriber a signed link names; raises TokenError / TokenExpired.

    Unsubscribe links are honoured even after "sign out everywhere": they sit
    in old emails and must keep working (RFC 8058, and the law in most places),
    and all they can do is stop mail. Every other purpose checks the token
    version, so revoked links stop working.
    """
    if purpose != "unsubscribe":
        return subscriber_from_token(token, purpose=purpose)[0]
    payload = token_read(token, purpose=purpose)
    subscriber = Subscriber.objects.filter(pk=payload.subscriber_id).first()
    if subscriber is None:
        raise TokenError("unknown subscriber")
    return subscriber


def subscriber_counts_by_status() -> dict[str, int]:
    """{status: count} for every status, zeros included, in the model's order."""
    counts = dict(Subscriber.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Subscriber.Status.values}


@dataclass(frozen=True)
class KeywordPreview:
    text: str
    titles: tuple[str, ...]
    count: int
    count_prefix: str = ""  # "about " or "more than " when the count is not exact


def keyword_previews(keywords: list[KeywordInput]) -> list[KeywordPreview]:
    """For each keyword, how many recent papers it matches and the top few titles (as site search ranks them).

    "Recent" is the 30 days up to the latest listing we have. The count is exact for up
    to a hundred papers, "about N" or "more than N" past that (papers.search_results).
    Cached per normalized keyword for a few minutes: the sign-up form asks as people type.
    """
    latest = latest_listing_date()
    if latest is None:
        return [KeywordPreview(k.text, (), 0) for k in keywords]
    since = latest - PREVIEW_WINDOW + timedelta(days=1)
    previews = []
    for keyword in keywords:
        digest = hashlib.sha1(keyword.normalized.encode()).hexdigest()  # memcached-safe key
        key = f"subscriptions:preview:{latest.isoformat()}:{digest}"
        hit = cache.get(key)
        if hit is None:
            try:
                found = papers_search(keyword.text, page_size=PREVIEW_TITLES, listed_since=since)
            except (KeywordError, SearchTooBroad):  # the form explains a bad keyword on submit
                hit = ([], 0, "")
            else:
                prefix = "" if found.count_is_exact else "more than " if found.count_is_lower_bound else "about "
                hit = ([p.title or f"arXiv:{p.arxiv_id}" for p in found.papers], found.count, prefix)
            cache.set(key, hit, PREVIEW_CACHE_SECONDS)
        previews.append(KeywordPreview(keyword.text, tuple(hit[0]), hit[1], hit[2]))
    return previews
