"""Thin Celery tasks: take ids, call one service, retry narrowly on TransientError.

SHARED: subscriber tasks (confirmation, manage link, purge) and digest tasks.
"""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from .errors import TransientError
from .services import digest_dispatch
from .services import digests as digest_services
from .services import subscribers as subscriber_services

# --- subscribers ---------------------------------------------------------------------

# Retries back off exponentially (1 s, 2 s, 4 s ... capped at 10 min, with
# jitter), so a mail server that is down for a while still gets the message.
_MAIL_RETRY = dict(
    bind=True, acks_late=True, autoretry_for=(TransientError,), retry_backoff=True, retry_jitter=True, max_retries=8
)


@shared_task(**_MAIL_RETRY)
def send_confirmation_email(self, subscriber_id: int) -> bool:
    return subscriber_services.subscriber_send_confirmation(subscriber_id=subscriber_id)


@shared_task(**_MAIL_RETRY)
def send_manage_link_email(self, subscriber_id: int) -> bool:
    return subscriber_services.subscriber_send_manage_link(subscriber_id=subscriber_id)


@shared_task(bind=True, acks_late=True)
def send_owed_confirmations(self, older_than_seconds: int | None = None) -> int:
    """Every 5 minutes: enqueue confirmation emails the broker never got (Redis was down at signup)."""
    if older_than_seconds is None:
        return subscriber_services.subscribers_send_owed_confirmations()
    return subscriber_services.subscribers_send_owed_confirmations(older_than=timedelta(seconds=older_than_seconds))


@shared_task(bind=True, acks_late=True)
def purge_pending_subscribers(self) -> int:
    return subscriber_services.subscribers_purge_pending()


# --- digests (docs/digests.md) ---------------------------------------------------------------
# acks_late + reject_on_worker_lost: a task whose worker dies is delivered again,
# and the row claims make the second run send only what the first did not.
# Redis' visibility_timeout (settings) is above every time limit here.


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=30 * 60, soft_time_limit=29 * 60)
def digests_dispatch(self) -> dict:
    """Hourly: build and enqueue the digests of everyone whose local send hour is now."""
    return vars(digest_dispatch.digests_dispatch())


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=(TransientError,), retry_backoff=True,
    retry_backoff_max=600, retry_jitter=True, max_retries=12, time_limit=10 * 60, soft_time_limit=9 * 60,
)
def digest_send_batch(self, digest_ids: list[int]) -> dict:
    """Send one batch of digests over one SMTP connection (retried on 4xx and dropped connections)."""
    return vars(digest_services.digest_send_batch(digest_ids=digest_ids))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=5 * 60, soft_time_limit=4 * 60)
def digests_sweep_stuck(self) -> int:
    """Every 5 minutes: recover the rows of dead workers and re-enqueue forgotten ready rows."""
    return digest_services.digests_sweep_stuck()
