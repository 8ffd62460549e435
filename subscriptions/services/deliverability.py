"""Bounces, complaints and unsubscribes reported by the mail provider.

The tracking webhook (subscriptions/webhooks.py) turns each provider event into
one call of `delivery_event_record`. States set here are sticky: a subscriber
who complained or bounced gets no more mail, and nothing here ever sets a
subscriber back to active.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from subscriptions.models import DeliveryEvent, Subscriber
from subscriptions.services.subscribers import mailbox_key, subscriber_unsubscribe

logger = logging.getLogger(__name__)

# Hard bounces it takes to stop mailing someone: one bounce can be a provider's
# hiccup, three is a dead mailbox.
HARD_BOUNCE_LIMIT = 3

# Statuses that stop mail for good; a provider event never moves anyone out of them.
STICKY = (Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED)


def delivery_event_record(
    *,
    provider: str,
    kind: str,
    email: str,
    provider_event_id: str = "",
    message_id: str = "",
    occurred_at: dt.datetime | None = None,
    detail: str = "",
) -> DeliveryEvent | None:
    """Record one provider event and apply it to the subscriber with that address.

    Idempotent: providers retry webhooks, so an event already recorded (same
    provider and event id) returns None and changes nothing. Transactional: the
    event row and the subscriber change commit together. Effects:
    bounced -> hard_bounces + 1, status bounced at HARD_BOUNCE_LIMIT;
    complained -> status complained (sticky); unsubscribed -> status unsubscribed.
    """
    email = (email or "").strip()
    occurred_at = occurred_at or timezone.now()
    if not provider_event_id:
        # Some events carry no id (Postmark deliveries, SubscriptionChange):
        # a digest of what they say keeps a retried post from counting twice.
        fingerprint = "|".join([provider, kind, email.lower(), message_id, occurred_at.isoformat()])
        provider_event_id = "sha1:" + hashlib.sha1(fingerprint.encode()).hexdigest()
    subscriber = Subscriber.objects.filter(email__iexact=_lookup_key(email)).first() if email else None
    try:
        with transaction.atomic():
            event = DeliveryEvent.objects.create(
                subscriber=subscriber,
                email=email[:254],
                kind=kind,
                provider=provider[:32],
                provider_event_id=provider_event_id[:255],
                message_id=(message_id or "")[:255],
                occurred_at=occurred_at,
                detail=detail,
            )
            if subscriber is not None:
                _apply(subscriber_id=subscriber.pk, kind=kind, now=timezone.now())
    except IntegrityError:
        logger.info("delivery_event duplicate=1 provider=%s event_id=%s kind=%s", provider, provider_event_id, kind)
        return None
    logger.info(
        "delivery_event provider=%s kind=%s subscriber_id=%s event_id=%s",
        provider, kind, subscriber.pk if subscriber else None, provider_event_id,
    )
    return event


def _apply(*, subscriber_id: int, kind: str, now: dt.datetime) -> None:
    # Conditional UPDATEs: a concurrent webhook, unsubscribe or digest run may
    # touch the same row, and the database, not a Python read, decides.
    rows = Subscriber.objects.filter(pk=subscriber_id)
    if kind == DeliveryEvent.Kind.BOUNCED:
        rows.update(hard_bounces=F("hard_bounces") + 1, updated_at=now)
        rows.filter(hard_bounces__gte=HARD_BOUNCE_LIMIT).exclude(status__in=STICKY).update(
            status=Subscriber.Status.BOUNCED, updated_at=now
        )
    elif kind == DeliveryEvent.Kind.COMPLAINED:
        rows.exclude(status=Subscriber.Status.COMPLAINED).update(status=Subscriber.Status.COMPLAINED, updated_at=now)
    elif kind == DeliveryEvent.Kind.UNSUBSCRIBED:
        # The same rule as our own unsubscribe link (bounced/complained stay as they are).
        subscriber_unsubscribe(subscriber_id=subscriber_id)


def _lookup_key(email: str) -> str:
    # The provider's spelling of the address may differ from ours (punycode domain, case).
    try:
        return mailbox_key(email)
    except ValidationError:
        return email
