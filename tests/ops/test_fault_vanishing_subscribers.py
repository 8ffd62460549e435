"""Readers who delete their account or pause while the day's digests are being built (issue 11, item 5).

On PostgreSQL, with real concurrent transactions: the build computes a chunk's
rows, then (before its insert) another connection erases one reader of that
chunk and pauses another, and commits. Their rows are left out; everyone
else's digest, in that chunk and the next, is built and sent. Before, the
chunk's commit failed on the foreign key: the chunk was lost and the run
aborted for everyone after it.
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, connections

from digests.services import build
from digests.services.day import digests_run_day
from subscriptions.models import Digest, Subscriber
from subscriptions.services.subscribers import subscriber_delete, subscriber_pause
from tests.conftest import require_service
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.date(2024, 3, 12)


def _in_another_connection(work) -> None:
    """Run `work` in its own thread, hence its own database connection and transaction, committed."""
    errors = []

    def run():
        try:
            work()
        except Exception as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and errors == []


def test_readers_leaving_mid_build_are_skipped_and_everyone_else_gets_their_digest(monkeypatch):
    require_service(connection.vendor == "postgresql", "needs PostgreSQL (DATABASE_URL=postgres://...)")
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=DAY)
    readers = []
    for n in range(6):
        reader = SubscriberFactory(email=f"reader{n}@example.org")
        KeywordFactory(subscriber=reader, text="diffusion")
        readers.append(reader)
    leaving, pausing = readers[1], readers[2]
    monkeypatch.setattr(build, "BUILD_CHUNK", 3)  # readers 0-2, then 3-5
    compute_rows = build._chunk_rows

    def rows_then_two_readers_change(chunk, selector, digest_date):
        rows = compute_rows(chunk, selector, digest_date)
        if leaving.pk in {row[0] for row in chunk}:
            _in_another_connection(lambda: (subscriber_delete(subscriber_id=leaving.pk),
                                            subscriber_pause(subscriber_id=pausing.pk)))
        return rows

    monkeypatch.setattr(build, "_chunk_rows", rows_then_two_readers_change)

    counts = digests_run_day(digest_date=DAY)

    others = [r.email for r in readers if r not in (leaving, pausing)]
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(others)
    assert counts.sent == len(others)
    assert not Subscriber.objects.filter(pk=leaving.pk).exists()
    assert not Digest.objects.filter(subscriber=pausing).exists()
    assert set(Digest.objects.filter(digest_date=DAY).values_list("status", flat=True)) == {"sent"}
