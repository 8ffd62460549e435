"""The digest's signed links are exactly subscriptions.tokens' links, made faster."""
from __future__ import annotations

import time_machine

from digests import tokens as digest_tokens
from subscriptions.tokens import token_make, token_read


def test_it_makes_the_very_tokens_token_make_makes():
    with time_machine.travel(1_710_237_600, tick=False):
        for purpose, extra in (("digest", "2024-03-12"), ("manage", ""), ("unsubscribe", ""),
                               ("digest", 'quote " and \\ and é')):
            for sid, version in ((1, 1), (987654, 3)):
                fast = digest_tokens.digest_token(subscriber_id=sid, token_version=version, purpose=purpose,
                                                  extra=extra)
                assert fast == token_make(subscriber_id=sid, token_version=version, purpose=purpose, extra=extra)
                assert token_read(fast, purpose=purpose).subscriber_id == sid


def test_it_falls_back_to_token_make_if_they_ever_differ(settings, monkeypatch):
    settings.SECRET_KEY = "another-secret-for-this-test-only-0123456789"
    monkeypatch.setattr(digest_tokens, "_fast", lambda *args: "not-what-token_make-makes")

    token = digest_tokens.digest_token(subscriber_id=7, token_version=1, purpose="manage")

    assert token_read(token, purpose="manage").subscriber_id == 7
