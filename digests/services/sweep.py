"""Recover the digests of dead workers and retry failed ones (docs/digests.md).

    sweep:  sending (stuck) -> ready | failed  rows of a worker that died
    retry:  failed -> ready                    the admin's "retry failed"
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import ChannelError

from subscriptions.models import Digest

from .build import digests_enqueue
from .send import digests_release_stuck

logger = logging.getLogger(__name__)

SWEEP_TASK = "subscriptions.tasks.digests_sweep_stuck"  # digests/tasks.py, digests/schedules.py
# Longer than the send task's hard time limit (tasks.py), so the sweeper never
# touches a batch whose task may still be running.
STUCK_AFTER = dt.timedelta(minutes=20)
ORPHAN_DAYS = 2  # ready rows built longer ago are left alone by the sweeper (see the Digest admin)


def digests_sweep_stuck(*, older_than: dt.timedelta = STUCK_AFTER, now: dt.datetime | None = None) -> int:
    """Recover rows a dead worker left in `sending`; re-enqueue ready rows nobody picked up. Returns rows made ready.

    A row claimed more than `older_than` ago whose message was never handed over
    goes back to ready; the one row per dead connection that was in flight
    (message_id set) is marked failed, since the server may have it: at most
    once, never twice. Conditional updates: safe to run anywhere, any time.

    With a broker, ready rows nobody has touched for `older_than` (released here,
    or whose enqueue was lost) get new send tasks at once, instead of waiting for
    Redis to hand the dead worker's task to someone else (visibility_timeout, an
    hour), as soon as no task is waiting in the broker: until then they may just
    be in line. Without one (embedded mode) they wait for the next `send_digests`:
    a sweep should not start sending mail from whatever process called it.
    """
    now = now or timezone.now()
    cutoff = now - older_than
    failed, reset = digests_release_stuck(cutoff=cutoff)
    orphans = []
    waiting = tasks_waiting()
    if waiting:
        # Rows still in line behind a long send (a slow provider, a million subscribers)
        # look forgotten after 20 minutes too: wait until the queue is empty, or each
        # sweep would add a second, third... task for every one of them.
        logger.info("digests_sweep_stuck: %d tasks waiting in the broker, ready rows left in line", waiting)
    elif not settings.CELERY_TASK_ALWAYS_EAGER:
        orphans = list(
            Digest.objects.filter(status=Digest.Status.READY, created_at__gte=now - dt.timedelta(days=ORPHAN_DAYS))
            .filter(Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True, created_at__lt=cutoff))
            .order_by("id").values_list("id", flat=True)
        )
    batches = digests_enqueue(digest_ids=orphans)
    if failed or reset or orphans:
        logger.warning("digests_sweep_stuck in_flight_failed=%d reset=%d requeued=%d batches=%d",
                       failed, reset, len(orphans), batches)
    return reset


def tasks_waiting() -> int | None:
    """Messages waiting in the broker's default queue; None without a broker or when it cannot say."""
    if not settings.CELERY_BROKER_URL:
        return None
    try:
        with current_app.connection_for_read() as conn:
            queue = current_app.conf.task_default_queue
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:
        return 0  # no such queue: Redis drops the key of an empty list
    except Exception as exc:  # the broker is down: the sweep should still free rows
        logger.warning("digests_sweep_stuck: could not read the broker's queue: %s", exc)
        return None


def digests_retry_failed(*, digest_ids: Iterable[int]) -> int:
    """Put failed digests back to ready and enqueue them (admin "retry failed"). Returns how many."""
    ids = list(digest_ids)
    with transaction.atomic():
        retry = list(Digest.objects.filter(pk__in=ids, status=Digest.Status.FAILED).values_list("id", flat=True))
        changed = Digest.objects.filter(pk__in=retry, status=Digest.Status.FAILED).update(
            status=Digest.Status.READY, message_id="", claimed_at=None)
        digests_enqueue(digest_ids=retry)
    return changed
