"""The mail provider's webhooks: django-anymail's views, and our receivers for its signals.

digest_site/urls.py mounts this module at /anymail/, so a provider posts to
/anymail/<esp>/tracking/ (e.g. /anymail/postmark/tracking/). Only the ESP that
EMAIL_BACKEND sends through answers; every other /anymail/ URL is a 404 (mail
over plain SMTP has no webhooks at all). anymail checks the basic-auth
credentials in ANYMAIL["WEBHOOK_SECRET"] (and the provider's signature where it
has one), parses the provider's payload into normalized events and sends its
`tracking` signal. We add two refusals anymail leaves to us: an ESP without its
secret or signing key configured accepts nothing (403; `check --deploy` fails
on it, see subscriptions/checks.py), and a body that is not the provider's
payload (not JSON, `[]`) is a 400, not a traceback. A signal is right here only
because it is anymail's public API; the receiver is a thin adapter around one
service.

Inbound mail (/anymail/<esp>/inbound/, where the provider receives mail for
the sender's address): the `mailto:` of every digest's List-Unsubscribe header
has the subject "unsubscribe <token>"; a message whose subject carries a valid
unsubscribe token unsubscribes that subscriber. The token, not the From
address, is the authority (From is easy to forge).

Mounting the URLs from this module also connects the receivers: whenever the
webhook URLs exist, so does the code that handles them.
"""
from __future__ import annotations

import functools
import logging
import re
import warnings

from anymail.exceptions import AnymailInsecureWebhookWarning
from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, RejectReason, inbound, tracking
from anymail.webhooks.base import AnymailCoreWebhookView
from django.conf import settings
from django.core.exceptions import BadRequest, ImproperlyConfigured
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import Resolver404, path, resolve
from django.views.decorators.csrf import csrf_exempt

from subscriptions.models import DeliveryEvent
from subscriptions.selectors import subscriber_from_link
from subscriptions.services.deliverability import delivery_event_record
from subscriptions.services.subscribers import subscriber_unsubscribe
from subscriptions.tokens import TokenError

logger = logging.getLogger(__name__)

_ESP_BACKEND = re.compile(r"anymail\.backends\.(\w+)\.EmailBackend")
# What a parser trips on when the body is valid for the signature but not the
# provider's payload shape: `[]` where a dict is expected, a string, no JSON.
_JUNK_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)


def configured_esp() -> str | None:
    """The anymail ESP that EMAIL_BACKEND sends through ("postmark"), or None (SMTP, files)."""
    found = _ESP_BACKEND.fullmatch(settings.EMAIL_BACKEND or "")
    return found.group(1) if found else None


def webhook_view_class(esp: str, kind: str = "tracking") -> type[AnymailCoreWebhookView] | None:
    """anymail's view class for /<esp>/<kind>/ (kind: tracking, inbound, ...), or None."""
    try:
        match = resolve(f"/{esp}/{kind}/", urlconf="anymail.urls")
    except Resolver404:
        return None
    return getattr(match.func, "view_class", None)


def webhook_refusal(view_class: type[AnymailCoreWebhookView]) -> str:
    """Why this webhook must accept nothing as configured ("" when it is secured).

    Secured means: anymail checks a signature with a configured key, or basic
    auth with ANYMAIL["WEBHOOK_SECRET"]. anymail itself would accept unsigned
    events with a warning; we do not.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnymailInsecureWebhookWarning)
            view = view_class()
    except ImproperlyConfigured as exc:  # e.g. Mailgun without its webhook signing key
        return str(exc).splitlines()[0]
    if getattr(view, "warn_if_no_basic_auth", False) and not getattr(view, "basic_auth", None):
        return "ANYMAIL_WEBHOOK_SECRET is not set: anyone could post forged events"
    return ""


@functools.cache
def _guarded(view_class: type[AnymailCoreWebhookView]):
    class Guarded(view_class):
        def parse_events(self, request):
            try:
                return list(super().parse_events(request))
            except _JUNK_ERRORS as exc:
                raise BadRequest(f"not a {self.esp_name} webhook payload: {type(exc).__name__}") from exc

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{view_class.__name__}"
    return Guarded.as_view()


@csrf_exempt
def esp_webhook(request: HttpRequest, esp: str, kind: str) -> HttpResponse:
    """anymail's webhook view for the configured ESP only, refused while it is not secured."""
    view_class = webhook_view_class(esp, kind) if esp == configured_esp() else None
    if view_class is None:
        raise Http404("no such webhook")
    refusal = webhook_refusal(view_class)
    if refusal:
        logger.error("webhook refused esp=%s kind=%s: %s", esp, kind, refusal)
        return HttpResponseForbidden("webhook not configured\n", content_type="text/plain")
    return _guarded(view_class)(request)


urlpatterns = [path("<slug:esp>/<slug:kind>/", esp_webhook, name="esp_webhook")]

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
