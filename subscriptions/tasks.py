"""Thin Celery tasks of the subscriber emails: take ids, call one service, retry narrowly on TransientError.

The services enqueue them by name (services/subscribers.py `_enqueue`), so this
module imports the services and never the other way round.
"""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from .errors import TransientError
from .services import subscribers as subscriber_services

# Retries back off exponentially (1 s, 2 s, 4 s ... capped at 10 min, with
# jitter), so a mail server that is down for a while still gets the message.
_MAIL_RETRY = dict(
    bind=True, acks_late=True, autoretry_for=(TransientError,), retry_backoff=True, retry_jitter=True, max_retries=8
)


@shared_task(name="subscriptions.tasks.send_confirmation_email", **_MAIL_RETRY)
def send_confirmation_email(self, subscriber_id: int) -> bool:
    return subscriber_services.subscriber_send_confirmation(subscriber_id=subscriber_id)


@shared_task(name="subscriptions.tasks.send_manage_link_email", **_MAIL_RETRY)
def send_manage_link_email(self, subscriber_id: int) -> bool:
    return subscriber_services.subscriber_send_manage_link(subscriber_id=subscriber_id)


@shared_task(name="subscriptions.tasks.send_owed_confirmations", bind=True, acks_late=True)
def send_owed_confirmations(self, older_than_seconds: int | None = None) -> int:
    """Every 5 minutes: enqueue confirmation emails the broker never got (Redis was down at signup)."""
    if older_than_seconds is None:
        return subscriber_services.subscribers_send_owed_confirmations()
    return subscriber_services.subscribers_send_owed_confirmations(older_than=timedelta(seconds=older_than_seconds))


@shared_task(name="subscriptions.tasks.purge_pending_subscribers", bind=True, acks_late=True)
def purge_pending_subscribers(self) -> int:
    return subscriber_services.subscribers_purge_pending()
