"""Build the daily digests: who is due, their Digest rows, and the send tasks to enqueue.

A Digest row is the delivery record (unique per subscriber and date):

    build:  (no row) -> ready | skipped        bulk insert, ON CONFLICT DO NOTHING
    send:   ready -> sending                   claimed by one conditional UPDATE ... RETURNING
            sending -> sent | failed | ready   one outcome per message, conditional on the claim
    sweep:  sending (stuck) -> ready | failed  rows of a worker that died

Exactly once (docs/digests.md has the whole argument): the unique key makes
every build idempotent; the claim lets one task own a row; and before a
message's content goes to the mail server its row is marked in flight
(message_id set), in the same statement that records the previous message's
outcome. A worker killed mid-batch leaves at most one in-flight row per
connection; the sweeper fails that row instead of resending it (at most once:
nobody gets two) and puts the never-handed-over rows back to ready.
"""
from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from celery import current_app
from django.db import connection, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from subscriptions.models import Digest, Keyword, Subscriber

from ..selection import Selector, keyword_match_key, keywords_distinct, window_start
from ..selectors import digests_status_counts
from ..tailor import PLAIN, select_tailored, tailorings
from .send import relax_gc

logger = logging.getLogger(__name__)

BUILD_CHUNK = 5_000  # subscribers per transaction of the build
BATCH_SIZE = 500  # digests per send task: one SMTP connection each
# The send task's name (digests/tasks.py registers it under this name): this
# module enqueues it by name, so it does not import the tasks that import it.
SEND_BATCH_TASK = "subscriptions.tasks.digest_send_batch"


@dataclass(frozen=True)
class BuildCounts:
    built: int  # ready rows created: emails to send
    skipped: int  # skipped rows created: nothing new matched


# --- build --------------------------------------------------------------------------------------


def subscribers_due(
    *, digest_date: dt.date, subscriber_ids: Iterable[int] | None = None, where: Q | None = None
) -> QuerySet[Subscriber]:
    """Active subscribers due a digest dated `digest_date` that have none yet (daily, or weekly on their weekday).

    `subscriber_ids` narrows to a few given people; `where` to a condition (the
    hourly dispatch's time zones and send hours), which stays one SQL clause
    however many subscribers it covers.
    """
    return _scheduled(digest_date=digest_date, subscriber_ids=subscriber_ids, where=where).exclude(
        digests__digest_date=digest_date)


def _scheduled(*, digest_date: dt.date, subscriber_ids: Iterable[int] | None, where: Q | None) -> QuerySet[Subscriber]:
    """subscribers_due() without the "has none yet" part, which the build checks per chunk."""
    scheduled = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).filter(
        Q(frequency=Subscriber.Frequency.DAILY)
        | Q(frequency=Subscriber.Frequency.WEEKLY, send_weekday=digest_date.weekday())
    )
    if subscriber_ids is not None:
        scheduled = scheduled.filter(pk__in=list(subscriber_ids))
    if where is not None:
        scheduled = scheduled.filter(where)
    return scheduled


def digests_build(
    *, digest_date: dt.date, subscriber_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> BuildCounts:
    """Create the day's Digest rows (ready, or skipped when nothing new matched) for the due subscribers.

    Idempotent: a subscriber who already has a row for the date is not due, and
    the insert ignores conflicts on (subscriber, digest_date), so re-running or
    racing never makes a second row. Each chunk of rows commits together with the
    subscribers' `last_digest_on`, so the next window starts where this one ended.
    A fixed handful of queries per 5,000 subscribers, none per subscriber.
    (`now` is accepted for callers that pass the clock; windows depend on dates only.)
    """
    return _build(digest_date=digest_date, subscriber_ids=subscriber_ids, where=None, after_chunk=None)


def digests_build_and_enqueue(*, digest_date: dt.date, where: Q | None = None) -> BuildCounts:
    """digests_build for the due subscribers (matching `where`), each chunk's ready rows enqueued as it commits."""
    return _build(digest_date=digest_date, subscriber_ids=None, where=where,
                  after_chunk=lambda low, high, ready: _enqueue_ready_of(digest_date, low, high, ready))


def _build(**kwargs) -> BuildCounts:
    thresholds = relax_gc()  # the build holds a large index and ranking memo: see relax_gc
    try:
        return _build_chunks(**kwargs)
    finally:
        gc.set_threshold(*thresholds)


def _build_chunks(
    *,
    digest_date: dt.date,
    subscriber_ids: Iterable[int] | None,
    where: Q | None,
    after_chunk: Callable[[int, int, list[int] | None], None] | None,
) -> BuildCounts:
    before = digests_status_counts(digest_date)
    due = subscribers_due(digest_date=digest_date, subscriber_ids=subscriber_ids, where=where)
    since = _earliest_window_start(due, digest_date)
    if since is None:
        return BuildCounts(0, 0)
    selector = Selector(digest_date=digest_date, since=min(since, digest_date), keywords=keywords_distinct(due))
    scheduled = _scheduled(digest_date=digest_date, subscriber_ids=subscriber_ids, where=where)
    t0, last_id, due_count = time.monotonic(), 0, 0
    while True:
        # Chunk by chunk in id order, so memory stays flat however many subscribers are due.
        chunk = list(scheduled.filter(pk__gt=last_id).order_by("id")
                     .values_list("id", "last_digest_on", "frequency", "trending")[:BUILD_CHUNK])
        if not chunk:
            break
        last_id = chunk[-1][0]
        # Who in this id range has a row already, asked for the range only: the same
        # NOT EXISTS in the chunk query above was planned as a merge anti-join that
        # walked every row of the day per chunk (quadratic: 5 s per chunk at 1M).
        built_before = set(Digest.objects.filter(digest_date=digest_date, subscriber_id__gte=chunk[0][0],
                                                 subscriber_id__lte=last_id).values_list("subscriber_id", flat=True))
        chunk = [row for row in chunk if row[0] not in built_before]
        if not chunk:
            continue
        due_count += len(chunk)
        rows = _chunk_rows(chunk, selector, digest_date)
        with transaction.atomic():
            ready = _insert_rows(rows, digest_date)
            # Everyone in the range with a digest for the date: this chunk, and any
            # a concurrent build wrote first.
            Subscriber.objects.filter(
                pk__gte=chunk[0][0], pk__lte=chunk[-1][0], digests__digest_date=digest_date
            ).filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=digest_date)).update(
                last_digest_on=digest_date)
        if after_chunk is not None:
            after_chunk(chunk[0][0], chunk[-1][0], ready)
    after = digests_status_counts(digest_date)
    skipped = after["skipped"] - before["skipped"]
    counts = BuildCounts(built=after["total"] - before["total"] - skipped, skipped=skipped)
    logger.info("digests_build date=%s due=%d built=%d skipped=%d papers=%d seconds=%.2f", digest_date,
                due_count, counts.built, counts.skipped, len(selector.first_listed), time.monotonic() - t0)
    return counts


def _earliest_window_start(due: QuerySet[Subscriber], digest_date: dt.date) -> dt.date | None:
    """The earliest first day of any due subscriber's window (one aggregate query); None if nobody is due."""
    starts = []
    for frequency, oldest, first_timers in due.order_by().values_list("frequency").annotate(
        oldest=Min("last_digest_on"), first_timers=Count("id", filter=Q(last_digest_on__isnull=True))
    ):
        if first_timers:
            starts.append(window_start(last_digest_on=None, digest_date=digest_date, frequency=frequency))
        if oldest is not None:
            starts.append(window_start(last_digest_on=oldest, digest_date=digest_date, frequency=frequency))
    return min(starts, default=None)


def _chunk_rows(chunk: list[tuple], selector: Selector, digest_date: dt.date) -> list[tuple]:
    # Ranges of ids, not IN lists: psycopg binds 5,000 parameters in Python, slowly.
    low, high = chunk[0][0], chunk[-1][0]
    keywords: dict[int, list[tuple[str, str]]] = {sid: [] for sid, *_ in chunk}
    chunk_keywords = Keyword.objects.filter(subscriber_id__gte=low, subscriber_id__lte=high)
    # Switched-off expansions are rare: read them apart, not as a JSON column on every row.
    switched = dict(chunk_keywords.exclude(disabled_expansions=[]).values_list("id", "disabled_expansions"))
    for keyword_id, sid, text, normalized in (
        chunk_keywords.order_by("subscriber_id", "id").values_list("id", "subscriber_id", "text", "normalized")
    ):
        if sid in keywords:
            keywords[sid].append((text, keyword_match_key(normalized, switched[keyword_id])
                                  if keyword_id in switched else normalized))
    # The previous digest's papers: its window may share its first day with this one.
    previous: dict[tuple[int, dt.date], frozenset[int]] = {}
    lasts = {last for _, last, *_ in chunk if last is not None}
    if lasts:
        for sid, day, papers in Digest.objects.filter(
            subscriber_id__gte=low, subscriber_id__lte=high, digest_date__in=lasts
        ).values_list("subscriber_id", "digest_date", "papers"):
            previous[(sid, day)] = frozenset(papers)
    # Trending choices, words to keep out, authors, votes: a few range queries, and
    # only the readers who set any of them leave Selector.select's fast path.
    tailored = tailorings(low=low, high=high, trending={sid: trending for sid, _, _, trending in chunk})
    rows = []
    for sid, last, frequency, _ in chunk:
        start = window_start(last_digest_on=last, digest_date=digest_date, frequency=frequency)
        found = None
        tailoring = tailored.get(sid, PLAIN)
        if start <= digest_date and (keywords[sid] or not tailoring.plain):
            found = select_tailored(selector, keywords[sid], start, exclude=previous.get((sid, last), frozenset()),
                                    tailoring=tailoring)
        if found is None:
            rows.append((sid, Digest.Status.SKIPPED, [], {}, {}, 0, {}))
        else:
            rows.append((sid, Digest.Status.READY, found.papers, {str(p): k for p, k in found.matched.items()},
                         {str(p): t for p, t in found.terms.items()}, found.total,
                         {str(p): r for p, r in found.reasons.items()}))
    return rows


def _insert_rows(rows: list[tuple], digest_date: dt.date) -> list[int] | None:
    """INSERT the rows, skipping any (subscriber, date) that exists: ON CONFLICT DO NOTHING.

    Also skips the rows of subscribers who are gone or no longer active by now:
    the rows were computed outside this transaction, and a reader may delete
    their account or pause meanwhile. Their row is left out; a deleted
    subscriber's row would fail the chunk's commit (foreign key) and lose
    everyone else's digest in it. Call inside the chunk's transaction.

    On PostgreSQL through COPY into a temporary table, then one INSERT ... SELECT
    joined to the live subscriber rows, which it locks FOR KEY SHARE until commit
    (a concurrent delete waits for the chunk, then removes its row with it):
    bulk_create's parameter binding (psycopg client-side, in Python) cost 14 s
    per 20,000 rows of JSON here, COPY a fraction of a second. Other databases get
    bulk_create(ignore_conflicts=True) of the rows whose subscriber is active,
    read in this transaction (SQLite's BEGIN IMMEDIATE holds every writer off).
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        active = set(Subscriber.objects.filter(pk__gte=rows[0][0], pk__lte=rows[-1][0],
                                               status=Subscriber.Status.ACTIVE).values_list("pk", flat=True))
        Digest.objects.bulk_create(
            [Digest(subscriber_id=sid, digest_date=digest_date, status=status, papers=papers, matches=matches,
                    terms=terms, matched_count=total, reasons=reasons)
             for sid, status, papers, matches, terms, total, reasons in rows if sid in active],
            ignore_conflicts=True, batch_size=500,
        )
        return None
    dumps = json.dumps
    table, subscribers = Digest._meta.db_table, Subscriber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS digest_build_rows_v2 (subscriber_id bigint, status varchar(8), "
            "papers jsonb, matches jsonb, terms jsonb, matched_count integer, reasons jsonb) ON COMMIT DELETE ROWS"
        )
        # Inside an outer transaction (a test, a request) there was no commit since the last chunk.
        cursor.execute("TRUNCATE digest_build_rows_v2")
        with cursor.copy("COPY digest_build_rows_v2 FROM STDIN") as copy:
            for sid, status, papers, matches, terms, total, reasons in rows:
                copy.write_row((sid, status, dumps(papers), dumps(matches), dumps(terms), total,
                                dumps(reasons) if reasons else "{}"))
        cursor.execute(
            f"INSERT INTO {table} (subscriber_id, digest_date, status, papers, matches, terms, matched_count, "
            "reasons, message_id, attempts, error, created_at) "
            "SELECT r.subscriber_id, %s, r.status, r.papers, r.matches, r.terms, r.matched_count, r.reasons, "
            f"'', 0, '', %s FROM digest_build_rows_v2 r JOIN {subscribers} s ON s.id = r.subscriber_id "
            "AND s.status = %s FOR KEY SHARE OF s "
            "ON CONFLICT (subscriber_id, digest_date) DO NOTHING RETURNING id, status",
            [digest_date, timezone.now(), Subscriber.Status.ACTIVE],
        )
        # The ids to enqueue come back with the insert: reading them back by date and
        # status made PostgreSQL walk every ready row of the day per chunk (quadratic).
        return sorted(pk for pk, status in cursor.fetchall() if status == Digest.Status.READY)


# --- enqueue ------------------------------------------------------------------------------------


def digest_batches_enqueue(*, digest_date: dt.date, batch_size: int = BATCH_SIZE) -> int:
    """Enqueue a send task for every `batch_size` ready digests of the date (after commit). Returns the batch count.

    Safe to repeat: a batch only sends the rows it manages to claim.
    """
    ids = list(Digest.objects.filter(digest_date=digest_date, status=Digest.Status.READY).order_by("id")
               .values_list("id", flat=True))
    return digests_enqueue(digest_ids=ids, batch_size=batch_size)


def digests_enqueue(*, digest_ids: list[int], batch_size: int = BATCH_SIZE) -> int:
    """Enqueue a send task per `batch_size` of these ids, after the transaction commits. Returns the batch count."""
    send_task = current_app.tasks[SEND_BATCH_TASK]  # NotRegistered if digests/tasks.py was not loaded
    ids = digest_ids
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    for batch in batches:
        transaction.on_commit(lambda batch=batch: send_task.delay(batch))
    return len(batches)


def _enqueue_ready_of(digest_date: dt.date, low: int, high: int, ready: list[int] | None) -> None:
    """Enqueue the ready digests a chunk just built (subscribers low..high): the ids the insert
    returned, or (databases without RETURNING from the bulk insert) read back."""
    if ready is None:
        ready = list(Digest.objects.filter(digest_date=digest_date, status=Digest.Status.READY,
                                           subscriber_id__gte=low, subscriber_id__lte=high)
                     .order_by("id").values_list("id", flat=True))
    digests_enqueue(digest_ids=ready)
