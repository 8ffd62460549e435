"""Writes of "more like this" / "fewer like this" votes.

A vote is one row per (subscriber, paper), kept by a unique constraint: voting
again replaces the opinion, it never adds a second row.
"""
from __future__ import annotations

from django.db import transaction

from ..models import Vote


def vote_record(*, subscriber_id: int, paper_id: int, value: int) -> bool:
    """Record "more" (+1) or "fewer" (-1) on a paper; True when the stored opinion changed.

    Idempotent: the same vote twice changes nothing. Safe against two clicks at
    once (update_or_create retries the lookup when the unique constraint fires).
    Raises ValueError for any value but +1 or -1.
    """
    if value not in (Vote.Value.MORE, Vote.Value.FEWER):
        raise ValueError(f"a vote is +1 or -1, not {value!r}")
    with transaction.atomic():
        if Vote.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id, value=value).exists():
            return False
        Vote.objects.update_or_create(subscriber_id=subscriber_id, paper_id=paper_id, defaults={"value": value})
    return True


def vote_undo(*, subscriber_id: int, paper_id: int) -> bool:
    """Forget a reader's vote on one paper; True if there was one."""
    deleted, _ = Vote.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id).delete()
    return deleted > 0


def votes_clear(*, subscriber_id: int) -> int:
    """Forget every vote of a reader (the manage page's "clear"); returns how many."""
    deleted, _ = Vote.objects.filter(subscriber_id=subscriber_id).delete()
    return deleted
