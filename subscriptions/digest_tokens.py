"""Signed links for a run of digest emails: subscriptions.tokens.token_make, made cheaply.

Every digest carries three signed links (web view, manage, unsubscribe). Django's
signing.dumps derives the HMAC key from the secret and the salt on every call,
which made signing the largest single cost of an email (22 us a token). The
tokens here are byte for byte what token_make returns (same JSON, base64,
timestamp and HMAC-SHA256 over the same salt), with the derived key kept per
purpose. Before first use in a process the two are compared; if token_make ever
changes, they differ and token_make is used instead, so links can never break.
A test holds them equal as well.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.core.signing import b62_encode, b64_encode

from .tokens import token_make, token_read

_KEYS: dict[tuple[str, str], bytes] = {}
_VERIFIED: dict[str, bool] = {}  # SECRET_KEY -> do the fast tokens equal token_make's?


def _fast(subscriber_id: int, token_version: int, purpose: str, extra: str, now: int) -> str:
    secret = settings.SECRET_KEY
    key = _KEYS.get((purpose, secret))
    if key is None:
        # django.utils.crypto.salted_hmac: sha256(key_salt + secret); key_salt is the signer's salt + "signer".
        salt = f"subscriptions.token.{purpose}signer"
        key = _KEYS[(purpose, secret)] = hashlib.sha256(salt.encode() + secret.encode()).digest()
    payload = [subscriber_id, token_version, extra] if extra else [subscriber_id, token_version]
    value = f"{b64_encode(json.dumps(payload, separators=(',', ':')).encode('latin-1')).decode()}:{b62_encode(now)}"
    return f"{value}:{b64_encode(hmac.new(key, value.encode(), hashlib.sha256).digest()).decode()}"


def _verified() -> bool:
    secret = settings.SECRET_KEY
    if secret not in _VERIFIED:
        for _ in range(3):  # both within the same second, or the timestamps differ
            now = int(time.time())
            fast = _fast(1234, 5, "digest", "2024-03-12", now)
            slow = token_make(subscriber_id=1234, token_version=5, purpose="digest", extra="2024-03-12")
            if int(time.time()) == now:
                _VERIFIED[secret] = fast == slow and token_read(fast, purpose="digest").extra == "2024-03-12"
                break
        else:
            _VERIFIED[secret] = False
    return _VERIFIED[secret]


def digest_token(*, subscriber_id: int, token_version: int, purpose: str, extra: str = "") -> str:
    """token_make(...), the same string."""
    if not _verified():
        return token_make(subscriber_id=subscriber_id, token_version=token_version, purpose=purpose, extra=extra)
    return _fast(subscriber_id, token_version, purpose, extra, int(time.time()))
