"""The whole digest day end to end: `manage.py send_digests` and the demo.

Builds every due digest for a date and sends them: here, batch after batch,
with no broker (embedded mode); through the workers with one.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings

from subscriptions.errors import TransientError
from subscriptions.models import Digest

from ..selectors import digests_status_counts
from .build import BATCH_SIZE, digest_batches_enqueue, digests_build, digests_build_and_enqueue
from .send import digest_send_batch

logger = logging.getLogger(__name__)

RUN_DAY_POLL = 0.25
EAGER_RETRIES = (1.0, 4.0, 15.0)  # seconds between tries when no broker is there to retry


@dataclass(frozen=True)
class DayCounts:
    built: int
    sent: int
    skipped: int
    failed: int
    pending: int = 0  # ready or sending when we stopped waiting


def digests_run_day(*, digest_date: dt.date, wait: bool = True, timeout: float = 3600) -> DayCounts:
    """Build and send every due digest for a date, end to end; counts are this run's.

    With no broker (embedded mode) everything runs here, batch after batch. With
    a broker, batches go to the workers as soon as each chunk is built, and we
    poll the rows until none of the date is ready or sending (or `timeout`).
    Re-running is safe: nothing is built or sent twice.
    """
    before = digests_status_counts(digest_date)
    deadline = time.monotonic() + timeout
    if settings.CELERY_TASK_ALWAYS_EAGER:
        built = digests_build(digest_date=digest_date)
        ids = list(Digest.objects.filter(digest_date=digest_date, status=Digest.Status.READY).order_by("id")
                   .values_list("id", flat=True))
        for at in range(0, len(ids), BATCH_SIZE):
            _send_here(ids[at : at + BATCH_SIZE], deadline)
    else:
        digest_batches_enqueue(digest_date=digest_date)  # rows an earlier run left ready
        built = digests_build_and_enqueue(digest_date=digest_date)
        while wait and _any_unsettled(digest_date) and time.monotonic() < deadline:
            time.sleep(RUN_DAY_POLL)
    after = digests_status_counts(digest_date)
    return DayCounts(built=built.built, sent=after["sent"] - before["sent"], skipped=built.skipped,
                     failed=after["failed"] - before["failed"], pending=_unsettled(digest_date))


def _unsettled(digest_date: dt.date) -> int:
    return Digest.objects.filter(digest_date=digest_date,
                                 status__in=[Digest.Status.READY, Digest.Status.SENDING]).count()


def _any_unsettled(digest_date: dt.date) -> bool:
    # Polled a few times a second while the workers send: EXISTS stops at the first row.
    return Digest.objects.filter(digest_date=digest_date,
                                 status__in=[Digest.Status.READY, Digest.Status.SENDING]).exists()


def _send_here(ids: list[int], deadline: float) -> None:
    """One batch in this process, retrying transient failures a few times (no broker to do it)."""
    for pause in (*EAGER_RETRIES, None):
        try:
            digest_send_batch(digest_ids=ids)
            return
        except TransientError as exc:
            if pause is None or time.monotonic() + pause > deadline:
                logger.warning("digest batch left for later (%d digests): %s", len(ids), exc)
                return
            time.sleep(pause)
