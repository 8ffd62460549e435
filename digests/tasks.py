"""Thin Celery tasks of the digest pipeline: take ids, call one service (docs/digests.md).

The names stay those of the module they came from (subscriptions.tasks), so
beat's periodic tasks and messages already queued keep working across the move.
The services enqueue `digest_send_batch` by that name (services/build.py), so
this module imports the services and never the other way round.

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again,
and the row claims make the second run send only what the first did not.
Redis' visibility_timeout (settings) is above every time limit here.
"""
from __future__ import annotations

from celery import shared_task

from subscriptions.errors import TransientError

from .services import build, dispatch, send, sweep


@shared_task(name=dispatch.DISPATCH_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             time_limit=30 * 60, soft_time_limit=29 * 60)
def digests_dispatch(self) -> dict:
    """Hourly: build and enqueue the digests of everyone whose local send hour is now."""
    return vars(dispatch.digests_dispatch())


@shared_task(
    name=build.SEND_BATCH_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(TransientError,), retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=12,
    time_limit=10 * 60, soft_time_limit=9 * 60,
)
def digest_send_batch(self, digest_ids: list[int]) -> dict:
    """Send one batch of digests over one SMTP connection (retried on 4xx and dropped connections)."""
    return vars(send.digest_send_batch(digest_ids=digest_ids))


@shared_task(name=sweep.SWEEP_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             time_limit=5 * 60, soft_time_limit=4 * 60)
def digests_sweep_stuck(self) -> int:
    """Every 5 minutes: recover the rows of dead workers and re-enqueue forgotten ready rows."""
    return sweep.digests_sweep_stuck()
