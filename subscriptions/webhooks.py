"""The mail provider's webhooks: django-anymail's views, and our receivers for its signals.

digest_site/urls.py mounts this module at /anymail/, so a provider posts to
/anymail/<esp>/tracking/ (e.g. /anymail/postmark/tracking/). anymail checks the
basic-auth credentials in ANYMAIL["WEBHOOK_SECRET"] (and the provider's
signature where it has one), parses the provider's payload into normalized
events and sends its `tracking` signal. A signal is right here only because it
is anymail's public API; the receiver is a thin adapter around one service.

Inbound mail (/anymail/<esp>/inbound/, where the provider receives mail for
the sender's address): the `mailto:` of every digest's List-Unsubscribe header
has the subject "unsubscribe <token>"; a message whose subject carries a valid
unsubscribe token unsubscribes that subscriber. The token, not the From
address, is the authority (From is easy to forge).

Mounting the URLs from this module also connects the receivers: whenever the
webhook URLs exist, so does the code that handles them.
"""
from __future__ import annotations

import logging
import re

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, RejectReason, inbound, tracking
from django.dispatch import receiver
from django.urls import include, path

from subscriptions.models import DeliveryEvent
from subscriptions.selectors import subscriber_from_link
from subscriptions.services.deliverability import delivery_event_record
from subscriptions.services.subscribers import subscriber_unsubscribe
from subscriptions.tokens import TokenError

logger = logging.getLogger(__name__)

urlpatterns = [path("", include("anymail.urls"))]

Kind = DeliveryEvent.Kind

# anymail's normalized event types we act on or count. Deliveries, opens and
# clicks are not stored: one row per message per day would dwarf everything
# else, and the health page counts sends from Digest rows instead.
_KINDS = {
    EventType.BOUNCED: Kind.BOUNCED,
    EventType.DEFERRED: Kind.DEFERRED,
    EventType.COMPLAINED: Kind.COMPLAINED,
    EventType.UNSUBSCRIBED: Kind.UNSUBSCRIBED,
    EventType.REJECTED: Kind.REJECTED,
}


def event_kind(event: AnymailTrackingEvent, esp_name: str) -> str | None:
    """Our DeliveryEvent kind for an anymail event, or None to ignore it."""
    kind = _KINDS.get(event.event_type)
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    if kind == Kind.BOUNCED and (
        (esp_name == "Postmark" and esp_event.get("Type") == "SoftBounce")
        or (esp_name == "SendGrid" and esp_event.get("type") == "blocked")
    ):
        # anymail reports these as bounces, but they are temporary (a full
        # mailbox, a receiving server throttling us), not a dead address.
        return Kind.DEFERRED
    if kind == Kind.REJECTED and event.reject_reason in (RejectReason.BOUNCED, RejectReason.INVALID):
        # The provider refused to send because the address bounced before:
        # as good as a hard bounce for deciding whether to keep mailing it.
        return Kind.BOUNCED
    return kind


@receiver(tracking, dispatch_uid="subscriptions.webhooks.on_tracking_event")
def on_tracking_event(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    kind = event_kind(event, esp_name)
    if kind is None or not event.recipient:
        return
    detail = " | ".join(
        str(part) for part in (event.event_type, event.reject_reason, event.description, event.mta_response) if part
    )
    delivery_event_record(
        provider=esp_name,
        kind=kind,
        email=event.recipient,
        provider_event_id=str(event.event_id or ""),
        message_id=str(event.message_id or ""),
        occurred_at=event.timestamp,
        detail=detail[:2000],
    )


# "unsubscribe <token>", possibly behind "Re: " or "Fwd: " (a reply to the digest).
_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_:=-]+)", re.IGNORECASE)


@receiver(inbound, dispatch_uid="subscriptions.webhooks.on_inbound_message")
def on_inbound_message(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    subject = (event.message.subject if event.message is not None else "") or ""
    found = _UNSUBSCRIBE_SUBJECT.search(subject)
    if found is None:
        logger.info("inbound mail ignored: not an unsubscribe request (esp=%s)", esp_name)
        return
    try:
        subscriber = subscriber_from_link(found.group(1), purpose="unsubscribe")
    except TokenError as exc:  # expired too: an unsubscribe older than a year is rare enough to do by hand
        logger.warning("inbound unsubscribe with a bad token ignored (esp=%s): %s", esp_name, exc)
        return
    subscriber_unsubscribe(subscriber_id=subscriber.pk)
    logger.info("inbound unsubscribe subscriber_id=%s esp=%s", subscriber.pk, esp_name)
