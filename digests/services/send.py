"""Sending one batch of digests: claim, render, hand over, record (the send step of digests/services/).

Every statement that changes a row is conditional on the claim (status
`sending` and this batch's `claimed_at`), so a batch only ever writes the rows
it owns, and a duplicate or late task finds nothing to do.
"""
from __future__ import annotations

import datetime as dt
import gc
import logging
from dataclasses import dataclass

from django.db import DatabaseError, connection
from django.utils import timezone

from subscriptions.errors import TransientError
from subscriptions.models import DeliveryEvent, Digest, Subscriber
from subscriptions.services.deliverability import delivery_event_record

from ..mime import email_message, envelope_sender, message_bytes
from ..render import render_digest
from ..selection import day_note_body, digest_inputs, digest_rows
from ..smtp import ConnectionTrouble, Item, Outcome, Result, SenderRefused, SmtpBatchSender, batch_sender
from .notes import digests_sent_note_set

logger = logging.getLogger(__name__)

T = Digest._meta.db_table
SENDING, READY, SENT, FAILED, SKIPPED = (Digest.Status.SENDING, Digest.Status.READY, Digest.Status.SENT,
                                         Digest.Status.FAILED, Digest.Status.SKIPPED)
UNCERTAIN_ERROR = (
    "Interrupted while the message was with the mail server (worker lost or connection dropped), "
    "so it may have been delivered. Not resent automatically, so nobody gets two; look for its "
    "Message-ID in the mail server's log and use \"Retry failed\" if it is not there."
)


@dataclass(frozen=True)
class SendCounts:
    sent: int
    failed: int
    deferred: int  # back to ready after a temporary failure; the task retries them


class DigestsDeferred(TransientError):
    """Some digests of the batch met a temporary failure and are ready again: retry the task."""

    def __init__(self, detail: str, counts: SendCounts) -> None:
        super().__init__(detail)
        self.counts = counts


def _in(values) -> str:
    return ", ".join(["%s"] * len(values))


# The per-message statement, one per shape (a message sent?, the next one marked?), as
# PostgreSQL prepared statements: $1 sent id, $2 sent_at, $3 next id, $4 its Message-ID, $5 the claim.
_CHECKPOINTS = {
    (1, True): f"UPDATE {T} SET status = CASE WHEN id = $1::bigint THEN '{SENT}' ELSE status END, "
               f"sent_at = CASE WHEN id = $1::bigint THEN $2::timestamptz ELSE sent_at END, "
               f"message_id = CASE WHEN id = $3::bigint THEN $4 ELSE message_id END "
               f"WHERE status = '{SENDING}' AND claimed_at = $5::timestamptz AND id IN ($1::bigint, $3::bigint) "
               f"RETURNING id",
    (0, True): f"UPDATE {T} SET message_id = $4 WHERE id = $3::bigint AND status = '{SENDING}' "
               f"AND claimed_at = $5::timestamptz AND $1::text IS NULL AND $2::text IS NULL RETURNING id",
    (1, False): f"UPDATE {T} SET status = '{SENT}', sent_at = $2::timestamptz WHERE id = $1::bigint "
                f"AND status = '{SENDING}' AND claimed_at = $5::timestamptz "
                f"AND $3::text IS NULL AND $4::text IS NULL RETURNING id",
}
_PREPARED: set[tuple[int, str]] = set()  # (backend pid, statement name) prepared in this process


class _Statements:
    """UPDATE ... RETURNING id, run many times in a batch.

    On PostgreSQL the per-message checkpoint goes straight through libpq
    (psycopg's `pgconn.exec_prepared`): 30 us of CPU against 100-150 us through
    a psycopg cursor, measured here, for the one statement every email costs.
    Anything else goes through a server-side-binding cursor, prepared by psycopg
    after a few runs instead of being quoted in Python and planned each time.
    """

    def __init__(self) -> None:
        self.cursor = self.pgconn = None
        if connection.vendor == "postgresql":
            import psycopg

            connection.ensure_connection()
            self.cursor = psycopg.Cursor(connection.connection)
            self.pgconn = connection.connection.pgconn

    def checkpoint(self, sent: list[int], next_id: int | None, message_id: str, now: dt.datetime,
                   stamp: dt.datetime) -> list[int] | None:
        """The per-message statement via libpq; None when it has another shape (or no PostgreSQL)."""
        shape = (len(sent), next_id is not None)
        if self.pgconn is None or shape not in _CHECKPOINTS:
            return None
        from psycopg import pq

        name = f"digest_checkpoint_{shape[0]}_{int(shape[1])}".encode()
        key = (self.pgconn.backend_pid, name.decode())
        if key not in _PREPARED:
            prepared = self.pgconn.prepare(name, _CHECKPOINTS[shape].encode(), None)
            if prepared.status != pq.ExecStatus.COMMAND_OK and (prepared.error_field(
                    pq.DiagnosticField.SQLSTATE) or b"") != b"42P05":  # 42P05: already prepared
                raise DatabaseError(prepared.get_error_message().decode())
            _PREPARED.add(key)
        params = [str(sent[0]).encode() if sent else None, now.isoformat().encode() if sent else None,
                  str(next_id).encode() if next_id is not None else None,
                  message_id.encode() if next_id is not None else None, stamp.isoformat().encode()]
        result = self.pgconn.exec_prepared(name, params)
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise DatabaseError(result.get_error_message().decode())
        return [int(result.get_value(row, 0)) for row in range(result.ntuples)]

    def returning(self, sql: str, params: list) -> list[int]:
        if self.cursor is not None:
            self.cursor.execute(sql, params)
            return [row[0] for row in self.cursor.fetchall()]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def close(self) -> None:
        if self.cursor is not None:
            self.cursor.close()


def _returning(sql: str, params: list) -> list[int]:
    statements = _Statements()
    try:
        return statements.returning(sql, params)
    finally:
        statements.close()


def _claim(ids: list[int], stamp) -> list[int]:
    """ready -> sending for the given rows still ready; the ids this call won (UPDATE ... RETURNING)."""
    if not ids:
        return []
    return sorted(_returning(
        f"UPDATE {T} SET status = %s, claimed_at = %s, attempts = attempts + 1, message_id = '', error = '' "
        f"WHERE status = %s AND id IN ({_in(ids)}) RETURNING id",
        [SENDING, stamp, READY, *ids],
    ))


class _Book:
    """The batch's bookkeeping: every outcome written as it happens, conditional on the claim."""

    def __init__(self, stamp: dt.datetime, claimed: list[int], message_ids: dict[int, str]) -> None:
        self.stamp = stamp  # the claim: this batch's rows have exactly this claimed_at
        self.adapt = connection.ops.adapt_datetimefield_value
        self.raw_stamp = self.adapt(stamp)  # the same, for raw SQL
        self.claimed = claimed
        self.message_ids = message_ids
        self.sent = self.failed = self.deferred = 0
        self.statements = _Statements()
        self.provider = "smtp"  # who refused a recipient, on the bounce it records

    def checkpoint(self, done: list[Result], next_item: Item | None) -> bool:
        """Record outcomes and mark `next_item` in flight, in one statement when all went well."""
        sent = [r.item.digest_id for r in done if r.outcome is Outcome.SENT]
        self._record_other([r for r in done if r.outcome is not Outcome.SENT])
        if not sent and next_item is None:
            return True
        now = timezone.now()
        fast = self.statements.checkpoint(sent, next_item.digest_id if next_item else None,
                                          self.message_ids[next_item.digest_id] if next_item else "", now, self.stamp)
        if fast is not None:
            return self._checked(sent, set(fast), next_item)
        now = self.adapt(now)
        sets, params = [], []
        if sent:
            sets += [f"status = CASE WHEN id IN ({_in(sent)}) THEN %s ELSE status END",
                     f"sent_at = CASE WHEN id IN ({_in(sent)}) THEN %s ELSE sent_at END"]
            params += [*sent, SENT, *sent, now]
        targets = list(sent)
        if next_item is not None:
            sets.append("message_id = CASE WHEN id = %s THEN %s ELSE message_id END")
            params += [next_item.digest_id, self.message_ids[next_item.digest_id]]
            targets.append(next_item.digest_id)
        owned = set(self.statements.returning(
            f"UPDATE {T} SET {', '.join(sets)} WHERE status = %s AND claimed_at = %s AND id IN ({_in(targets)}) "
            "RETURNING id",
            [*params, SENDING, self.raw_stamp, *targets],
        ))
        return self._checked(sent, owned, next_item)

    def _checked(self, sent: list[int], owned: set[int], next_item: Item | None) -> bool:
        self.sent += len(sent)
        if set(sent) - owned:
            logger.error("digest rows sent but no longer claimed by this batch: %s", sorted(set(sent) - owned))
        return next_item is None or next_item.digest_id in owned

    def _record_other(self, results: list[Result]) -> None:
        for r in results:
            if r.outcome is Outcome.DEFERRED:
                status, error = READY, r.detail
                self.deferred += 1
            else:
                status = FAILED
                error = UNCERTAIN_ERROR + f" ({r.detail})" if r.outcome is Outcome.UNCERTAIN else r.detail
                self.failed += 1
            Digest.objects.filter(pk=r.item.digest_id, status=SENDING, claimed_at=self.stamp).update(
                status=status, error=error[:2000], message_id="" if status == READY else self.message_ids.get(
                    r.item.digest_id, ""))
            logger.warning("digest_send digest_id=%s outcome=%s detail=%s", r.item.digest_id, r.outcome.value, r.detail)
            if r.outcome is Outcome.REFUSED:
                # The recipient's server said the address does not exist: a hard bounce.
                delivery_event_record(provider=self.provider, kind=DeliveryEvent.Kind.BOUNCED, email=r.item.to,
                                      message_id=self.message_ids.get(r.item.digest_id, ""), detail=r.detail)

    def record(self, results: list[Result]) -> None:
        self.checkpoint([r for r in results if r.outcome is Outcome.SENT], None)
        self._record_other([r for r in results if r.outcome is not Outcome.SENT])

    def skip(self, digest_id: int, why: str, *, status: str = SKIPPED) -> None:
        Digest.objects.filter(pk=digest_id, status=SENDING, claimed_at=self.stamp).update(status=status, error=why)
        if status == FAILED:
            self.failed += 1

    def release(self, *, error: str = "", in_flight_too: bool) -> int:
        """Our rows still `sending` go back to ready; the in-flight one only if we know it was not delivered."""
        rows = Digest.objects.filter(pk__in=self.claimed, status=SENDING, claimed_at=self.stamp)
        if not in_flight_too:
            rows = rows.filter(message_id="")
        released = rows.update(status=READY, message_id="", error=error[:2000])
        self.deferred += released
        return released

    def counts(self) -> SendCounts:
        return SendCounts(sent=self.sent, failed=self.failed, deferred=self.deferred)


def digest_send_batch(*, digest_ids: list[int]) -> SendCounts:
    """Claim, render and send the given digests over one connection; record each outcome.

    Only rows this call claims (ready -> sending) are sent, so running it twice, or
    two workers racing for one batch, sends each digest once. A recipient's 5xx
    fails that digest and counts a hard bounce; the batch goes on. A 4xx or a
    dropped connection puts the unsent rows back to ready and raises
    DigestsDeferred (a TransientError), for the task to retry with backoff.
    """
    stamp = timezone.now()
    claimed = _claim(sorted({int(i) for i in digest_ids}), connection.ops.adapt_datetimefield_value(stamp))
    if not claimed:
        return SendCounts(0, 0, 0)
    book = _Book(stamp, claimed, {})
    gc_thresholds = relax_gc()
    try:
        _fast_commits(True)
        sender = batch_sender()
        book.provider = sender.provider
        sender.open()  # first: how to encode depends on what the server takes (8BITMIME)
        try:
            items = _render(claimed, book, smtp=isinstance(sender, SmtpBatchSender),
                            eight_bit=getattr(sender, "eight_bit", False))
            if items:
                sender.deliver(items, book.checkpoint)
        finally:
            sender.close()
    except ConnectionTrouble as trouble:
        book.record(trouble.unrecorded)
        book.release(error=str(trouble), in_flight_too=True)
        counts = book.counts()
        logger.warning("digest_send_batch deferred digests=%d sent=%d error=%s", counts.deferred, counts.sent, trouble)
        raise DigestsDeferred(str(trouble), counts) from trouble
    except SenderRefused as exc:
        book.release(error=str(exc), in_flight_too=True)
        raise
    except BaseException:
        # A bug, a lost database or the soft time limit: rows never handed over go
        # back; an in-flight one is left for the sweeper to settle (it may be delivered).
        book.release(error="the send task stopped unexpectedly", in_flight_too=False)
        raise
    finally:
        book.statements.close()
        _fast_commits(False)
        gc.set_threshold(*gc_thresholds)
    book.release(in_flight_too=False)  # anything not ours any more mid-way
    counts = book.counts()
    logger.info("digest_send_batch claimed=%d sent=%d failed=%d deferred=%d", len(claimed), counts.sent,
                counts.failed, counts.deferred)
    if counts.deferred:
        raise DigestsDeferred(f"{counts.deferred} digests deferred by the mail server", counts)
    return counts


def relax_gc() -> tuple[int, int, int]:
    """Collect cycles less often while a batch runs; returns the thresholds to restore.

    A batch allocates hundreds of thousands of short-lived objects and almost no
    cycles, while the process holds large long-lived caches (cards, papers) that
    every full collection walks again: 15-20% of the batch's CPU, measured here.
    """
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    return previous


def _fast_commits(on: bool) -> None:
    """PostgreSQL: don't wait for the WAL flush on this batch's per-message commits.

    One small commit per message is what makes a SIGKILL cost at most one
    uncertain message; waiting for fsync on each took 2-6 ms on a busy disk here,
    against 0.2 ms without. A commit is still atomic and visible at once; only a
    crash of the database server itself (not of a worker) within about 0.6 s
    (3 x wal_writer_delay) can lose the last few bookkeeping writes.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF" if on else "RESET synchronous_commit")


def _render(claimed: list[int], book: _Book, *, smtp: bool, eight_bit: bool) -> list[Item]:
    """Every message of the batch, rendered before the connection opens.

    Rendering first keeps the in-flight moment of each message down to the write
    itself, so a worker killed mid-batch almost never leaves a row marked in
    flight whose message had not actually gone out.
    """
    # Exactly this batch's rows, by the claim itself: no list of 500 ids to bind.
    claim = {"pk__gte": claimed[0], "pk__lte": claimed[-1], "claimed_at": book.stamp}
    rows = digest_rows(status=SENDING, **claim)
    # The note is read once, and the same text is both sent and recorded for the admin's preview.
    note_bodies = {day: day_note_body(day) for day in {row[1] for row in rows}}
    digests_sent_note_set(claim=claim, note_bodies=note_bodies)
    items = []
    sender = envelope_sender()
    for row, data in zip(rows, digest_inputs(rows, note_bodies=note_bodies), strict=True):
        digest_id, status = row[0], row[-1]
        if status != Subscriber.Status.ACTIVE:
            book.skip(digest_id, f"not sent: the subscriber is now {status}")
            continue
        if not data.items:
            book.skip(digest_id, "not sent: every paper in it has been hidden since")
            continue
        try:
            rendered = render_digest(data)
            rendered.to = to = _ascii_address(data.email)
            book.message_ids[digest_id] = rendered.message_id
            if smtp:
                items.append(Item(digest_id, to, sender, data=message_bytes(rendered, eight_bit=eight_bit)))
            else:
                items.append(Item(digest_id, to, sender, message=email_message(rendered)))
        except Exception as exc:  # one bad digest must not hold up the other 499
            logger.exception("digest render failed digest_id=%s", digest_id)
            book.skip(digest_id, f"could not render: {type(exc).__name__}: {exc}", status=FAILED)
    return items


def _ascii_address(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return address if address.isascii() else f"{local}@{domain.encode('idna').decode('ascii')}"


def digests_release_stuck(*, cutoff: dt.datetime) -> tuple[int, int]:
    """(failed, reset): rows claimed before `cutoff` and still `sending` belong to a dead worker."""
    stuck = Digest.objects.filter(status=SENDING, claimed_at__lt=cutoff)
    failed = stuck.exclude(message_id="").update(status=FAILED, error=UNCERTAIN_ERROR)
    reset = stuck.filter(message_id="").update(status=READY, error="released by the sweeper: its worker was lost")
    return failed, reset
