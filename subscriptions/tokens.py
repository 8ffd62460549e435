"""Signed, revocable links: confirm, manage, unsubscribe, and the digest web view.

Each purpose has its own salt, so a token made for one cannot be used for
another. A token carries the subscriber's `token_version`; bumping it (sign out
everywhere, delete) revokes every link sent so far.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from .models import Subscriber

# How long each kind of link stays valid. Unsubscribe links sit in old emails
# and must keep working for a long time (CAN-SPAM asks for 30 days at least).
MAX_AGE: dict[str, timedelta] = {
    "confirm": timedelta(days=7),
    "manage": timedelta(days=90),
    "unsubscribe": timedelta(days=365),
    "digest": timedelta(days=90),
    # A feed reader keeps its URL for years; "sign out everywhere" is how it is revoked.
    "feed": timedelta(days=3650),
}


class TokenError(Exception):
    """The link is not valid: tampered, for another purpose, revoked or unknown."""


class TokenExpired(TokenError):
    """The link was valid once but is older than its purpose allows."""


@dataclass(frozen=True)
class TokenPayload:
    subscriber_id: int
    version: int
    extra: str = ""


def _salt(purpose: str) -> str:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"subscriptions.token.{purpose}"


def token_make(*, subscriber_id: int, token_version: int, purpose: str, extra: str = "") -> str:
    """A URL-safe signed token for one subscriber and one purpose.

    `extra` binds the token to one more value (the digest date for the web view).
    """
    payload = [subscriber_id, token_version] + ([extra] if extra else [])
    return signing.dumps(payload, salt=_salt(purpose), compress=False)


def subscriber_token(subscriber: Subscriber, purpose: str, extra: str = "") -> str:
    return token_make(subscriber_id=subscriber.pk, token_version=subscriber.token_version, purpose=purpose, extra=extra)


def token_read(token: str, *, purpose: str) -> TokenPayload:
    """Check signature and age; raises TokenExpired or TokenError."""
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=MAX_AGE[purpose])
    except signing.SignatureExpired as exc:
        raise TokenExpired(str(exc)) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise TokenError(str(exc)) from exc
    if not isinstance(payload, list) or len(payload) not in (2, 3) or not all(isinstance(p, int) for p in payload[:2]):
        raise TokenError("malformed payload")
    return TokenPayload(payload[0], payload[1], payload[2] if len(payload) == 3 else "")


def subscriber_from_token(token: str, *, purpose: str) -> tuple[Subscriber, TokenPayload]:
    """The subscriber a token names, if it still exists and the token was not revoked."""
    payload = token_read(token, purpose=purpose)
    subscriber = Subscriber.objects.filter(pk=payload.subscriber_id).first()
    if subscriber is None or subscriber.token_version != payload.version:
        raise TokenError("revoked or unknown subscriber")
    return subscriber, payload
