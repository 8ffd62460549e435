"""Thin Celery tasks: take ids, call one service, retry narrowly on TransientError.

SHARED: subscriber tasks (confirmation, manage link, purge) and digest tasks.
"""
from __future__ import annotations

from celery import shared_task

from .errors import TransientError
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
def purge_pending_subscribers(self) -> int:
    return subscriber_services.subscribers_purge_pending()
