"""Reads about subscribers that more than one caller needs (views, admin, emails)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count

from papers.acronyms import AcronymTable, acronym_table
from papers.models import Paper
from papers.search import KeywordError, PaperIndex, keyword_topics
from papers.search_results import SearchTooBroad, papers_search
from papers.selectors import latest_listing_date, papers_trending

from .models import Keyword, Subscriber
from .services.subscribers import KeywordInput
from .tokens import TokenError, subscriber_from_token, token_read

PREVIEW_WINDOW = timedelta(days=30)
PREVIEW_TITLES = 3
PREVIEW_SAMPLE = 50  # top matches per keyword the words to keep out are checked against
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
class Removed:
    """What one word to keep out removes from one keyword's matches."""

    text: str  # the exclusion as typed
    count: int
    example: str  # one title it removes


@dataclass(frozen=True)
class KeywordPreview:
    text: str
    titles: tuple[str, ...]
    count: int  # after exclusions
    removed: tuple[Removed, ...] = ()
    also: tuple[str, ...] = ()  # what else it matches (papers.topics), the first few
    also_more: int = 0  # how many more
    count_prefix: str = ""  # "about " or "more than " when the count is not exact


PREVIEW_ALSO = 6


@dataclass(frozen=True)
class ExpansionChoice:
    key: str
    label: str
    kind: str  # "acronym", "spelling", "narrower", "benchmark"
    on: bool


@dataclass(frozen=True)
class KeywordExpansions:
    keyword: Keyword
    choices: tuple[ExpansionChoice, ...]

    @property
    def summary(self) -> str:
        """The first few expansions still on: "convolutional neural network, ConvNet, ResNet"."""
        on = [c.label for c in self.choices if c.on]
        more = f" and {len(on) - PREVIEW_ALSO} more" if len(on) > PREVIEW_ALSO else ""
        return ", ".join(on[:PREVIEW_ALSO]) + more if on else "nothing else (all switched off)"


def keyword_expansion_choices(keywords: Iterable[Keyword]) -> list[KeywordExpansions]:
    """For the manage page: each keyword that has expansions, each with its switch."""
    out = []
    acronyms = acronym_table()  # once for all the keywords
    for keyword in keywords:
        try:
            alternatives = keyword_topics(keyword.text, acronyms=acronyms).alternatives
        except KeywordError:
            continue
        if alternatives:
            off = set(keyword.disabled_expansions)
            out.append(KeywordExpansions(keyword, tuple(
                ExpansionChoice(a.key, a.label, a.kind, a.key not in off) for a in alternatives
            )))
    return out


def _recent_matches(
    keyword: KeywordInput, latest, size: int, acronyms: AcronymTable
) -> tuple[list[tuple[int, str]], int, str]:
    """((id, title) of the top `size` recent papers a keyword matches, best first as site
    search ranks them; how many it matches; "", "about " or "more than " for that count).

    Bounded like site search (papers.search_results). Cached a few minutes.
    """
    digest = hashlib.sha1(keyword.normalized.encode()).hexdigest()  # memcached-safe key
    key = f"subscriptions:preview:v3:{size}:{latest.isoformat()}:{digest}"
    hit = cache.get(key)
    if hit is None:
        since = latest - PREVIEW_WINDOW + timedelta(days=1)
        try:
            found = papers_search(keyword.text, page_size=size, listed_since=since, acronyms=acronyms)
        except (KeywordError, SearchTooBroad):  # the form explains a bad keyword on submit
            hit = ([], 0, "")
        else:
            prefix = "" if found.count_is_exact else "more than " if found.count_is_lower_bound else "about "
            hit = ([(p.id, p.title or f"arXiv:{p.arxiv_id}") for p in found.papers], found.count, prefix)
        cache.set(key, hit, PREVIEW_CACHE_SECONDS)
    return hit


def _excluded(ids: list[int], exclusions: list[KeywordInput], acronyms: AcronymTable) -> list[tuple[str, set[int]]]:
    """(exclusion as typed, which of these papers it matches): the matcher over these papers only."""
    if not ids or not exclusions:
        return [(e.text, set()) for e in exclusions]
    index = PaperIndex.build(Paper.objects.filter(id__in=ids).values_list("id", "title", "abstract"),
                             acronyms=acronyms)
    return [(e.text, {m.paper_id for m in index.match_many([e.text])[e.text]}) for e in exclusions]


def keyword_previews(keywords: list[KeywordInput], exclusions: list[KeywordInput] = ()) -> list[KeywordPreview]:
    """For each keyword, how many recent papers it matches and the top few titles,
    once the words to keep out (matched by the same matcher) have removed theirs.

    "Recent" is the 30 days up to the latest listing we have. Bounded: per keyword one
    bounded search (count and the top PREVIEW_TITLES, or PREVIEW_SAMPLE to check the words
    to keep out against). The count is exact up to search_results.VERIFY_ALL papers,
    "about N" or "more than N" past that (the removed counts are then those in the sample).
    """
    latest = latest_listing_date()
    if latest is None:
        return [KeywordPreview(k.text, (), 0) for k in keywords]
    # Without words to keep out, the titles shown are all a keyword needs.
    size = PREVIEW_SAMPLE if exclusions else PREVIEW_TITLES
    previews = []
    acronyms = acronym_table()  # one read for every keyword's search, exclusions and expansions
    for keyword in keywords:
        matches, count, prefix = _recent_matches(keyword, latest, size, acronyms)
        excluded = _excluded([pid for pid, _ in matches], list(exclusions), acronyms)
        removed = []
        for text, ids in excluded:
            gone = [title for pid, title in matches if pid in ids]
            if gone:
                removed.append(Removed(text, len(gone), gone[0]))
        out = set().union(*(ids for _, ids in excluded)) if excluded else set()
        kept = [title for pid, title in matches if pid not in out]
        if not prefix and len(matches) == count:
            kept_count = len(kept)
        else:  # only a sample is known: scale it
            kept_count = round(count * len(kept) / len(matches)) if matches else count
            prefix = prefix or "about "
        try:
            also = [a.label for a in keyword_topics(keyword.text, acronyms=acronyms).alternatives]
        except KeywordError:
            also = []
        previews.append(KeywordPreview(keyword.text, tuple(kept[:PREVIEW_TITLES]), kept_count, tuple(removed),
                                       tuple(also[:PREVIEW_ALSO]), max(0, len(also) - PREVIEW_ALSO), prefix))
    return previews


def trending_preview() -> list[str]:
    """Titles of the top of the latest day's trending list: what "just the trending list" looks like."""
    latest = latest_listing_date()
    if latest is None:
        return []
    return [p.title or f"arXiv:{p.arxiv_id}" for p in papers_trending(day=latest, limit=PREVIEW_TITLES)]
