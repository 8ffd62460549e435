"""Writes about what a reader keeps out and whom they follow: exclusions and authors,
the expansions they switch off, and the manage page's save of every setting at once.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from papers.authors import author_key
from papers.search import keyword_topics

from ..models import Exclusion, FollowedAuthor, Keyword, Subscriber
from .subscribers import KeywordInput, keywords_parse, subscriber_preferences_update

MAX_EXCLUSIONS = 20
MAX_AUTHORS = 30
MAX_AUTHOR_LENGTH = 200

_AUTHOR_SPLIT = re.compile(r"[\n\r;]+")


@dataclass(frozen=True)
class AuthorInput:
    name: str  # as typed, trimmed
    key: str  # papers.authors.author_key(name)


def exclusions_parse(raw: str | Iterable[str]) -> list[KeywordInput]:
    """Words to keep out, read exactly like keywords (same matcher); none is fine."""
    parsed = keywords_parse(raw, required=False)
    if len(parsed) > MAX_EXCLUSIONS:
        raise ValidationError(f"That is {len(parsed)} words to keep out; at most {MAX_EXCLUSIONS}.")
    return parsed


def authors_parse(raw: str | Iterable[str]) -> list[AuthorInput]:
    """One author per line (or separated by ";"), duplicates by author_key collapsed; none is fine.

    Commas are not separators: "LeCun, Yann" is one name. Raises ValidationError
    listing every problem.
    """
    pieces = _AUTHOR_SPLIT.split(raw) if isinstance(raw, str) else [str(p) for p in raw]
    problems: list[str] = []
    seen: dict[str, AuthorInput] = {}
    for piece in pieces:
        name = " ".join(piece.split())
        if not name:
            continue
        if len(name) > MAX_AUTHOR_LENGTH:
            problems.append(f"“{name[:37]}…” is too long for a name: at most {MAX_AUTHOR_LENGTH} characters.")
            continue
        key = author_key(name)
        if not key:
            problems.append(f"“{name}” has no letters: type an author’s name, like “Yann LeCun”.")
            continue
        seen.setdefault(key, AuthorInput(name=name, key=key))
    if len(seen) > MAX_AUTHORS:
        problems.append(f"That is {len(seen)} authors; you can follow at most {MAX_AUTHORS}.")
    if problems:
        raise ValidationError(problems)
    return list(seen.values())


def _rows_replace(model, *, subscriber_id: int, rows: list) -> list:
    """A subscriber's rows of `model` become `rows`: under the subscriber's row lock, in one transaction."""
    with transaction.atomic():
        Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        model.objects.filter(subscriber_id=subscriber_id).delete()
        return model.objects.bulk_create(rows)


def subscriber_exclusions_set(*, subscriber_id: int, exclusions: str | Iterable[str]) -> list[Exclusion]:
    """Replace a subscriber's words to keep out. Transactional, serialized by the subscriber's row lock."""
    rows = [Exclusion(subscriber_id=subscriber_id, text=e.text, normalized=e.normalized)
            for e in exclusions_parse(exclusions)]
    return _rows_replace(Exclusion, subscriber_id=subscriber_id, rows=rows)


def subscriber_authors_set(*, subscriber_id: int, authors: str | Iterable[str]) -> list[FollowedAuthor]:
    """Replace the authors a subscriber follows. Transactional, serialized by the subscriber's row lock."""
    rows = [FollowedAuthor(subscriber_id=subscriber_id, name=a.name, key=a.key) for a in authors_parse(authors)]
    return _rows_replace(FollowedAuthor, subscriber_id=subscriber_id, rows=rows)


def subscriber_settings_save(
    *, subscriber_id: int, keywords: str | Iterable[str], trending: str, exclusions: str | Iterable[str],
    authors: str | Iterable[str], frequency: str, send_hour: int, send_weekday: int, timezone: str,
) -> None:
    """Save everything the manage page edits, in one transaction: all of it or nothing.

    Raises ValidationError (and saves nothing) for a value the form should have refused.
    """
    with transaction.atomic():
        subscriber_preferences_update(
            subscriber_id=subscriber_id, keywords=keywords, trending=trending, frequency=frequency,
            send_hour=send_hour, send_weekday=send_weekday, timezone=timezone,
        )
        subscriber_exclusions_set(subscriber_id=subscriber_id, exclusions=exclusions)
        subscriber_authors_set(subscriber_id=subscriber_id, authors=authors)


def subscriber_switch_to_weekly(*, subscriber_id: int) -> bool:
    """Daily → weekly, on Mondays (the unsubscribe page's gentler choice). Idempotent conditional UPDATE."""
    return Subscriber.objects.filter(pk=subscriber_id).exclude(frequency=Subscriber.Frequency.WEEKLY).update(
        frequency=Subscriber.Frequency.WEEKLY, send_weekday=0, updated_at=timezone.now()
    ) == 1


def keyword_expansions_set(*, subscriber_id: int, keyword_id: int, enabled: Iterable[str]) -> list[str]:
    """Switch a keyword's expansions: those offered (papers.search.keyword_topics) and not in
    `enabled` are off. Returns the keys now off.

    Only the subscriber's own keyword changes (Keyword.DoesNotExist otherwise); keys not
    offered are ignored, so a stale form cannot store junk. One UPDATE, idempotent.
    """
    keyword = Keyword.objects.get(pk=keyword_id, subscriber_id=subscriber_id)
    offered = [a.key for a in keyword_topics(keyword.text).alternatives]
    on = set(enabled)
    disabled = [key for key in offered if key not in on]
    Keyword.objects.filter(pk=keyword.pk).update(disabled_expansions=disabled)
    return disabled
