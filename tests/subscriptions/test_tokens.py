"""Signed links: tampered, expired, for another purpose, or revoked → a friendly 4xx page."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.services.subscribers import subscriber_delete, subscriber_sign_out_everywhere
from subscriptions.tokens import TokenError, subscriber_token, token_make, token_read
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
PAGES = ["confirm", "manage", "unsubscribe"]


def assert_bad_link_page(response, status=400):
    assert response.status_code == status
    html = response.content.decode()
    assert "Email me a fresh link" in html
    assert 'action="/link/"' in html
    return html


@pytest.mark.parametrize("purpose", PAGES)
def test_it_rejects_a_tampered_token(client, purpose):
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    token = subscriber_token(subscriber, purpose)
    other = SubscriberFactory()
    # Swap the signed payload for another subscriber's id, keep the signature.
    forged = token.replace(token.split(":")[0], subscriber_token(other, purpose).split(":")[0])
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, flipped, token[:20], "x", "a" * 2000, "%00", "a:b:c", "WzEsMV0:1:x"):
        assert_bad_link_page(client.get(f"/{purpose}/{bad}/"))
        assert_bad_link_page(client.post(f"/{purpose}/{bad}/"))
    assert client.get(f"/{purpose}/..%2F..%2Fetc/").status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


@pytest.mark.parametrize("purpose,days", [("confirm", 7), ("manage", 90), ("unsubscribe", 365)])
def test_it_expires_links_after_their_purposes_max_age(client, purpose, days):
    with time_machine.travel(START, tick=False):
        subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
        token = subscriber_token(subscriber, purpose)
    url = reverse(f"subscriptions:{purpose}", args=[token])
    with time_machine.travel(START + dt.timedelta(days=days) - dt.timedelta(minutes=1), tick=False):
        assert client.get(url).status_code == 200
    with time_machine.travel(START + dt.timedelta(days=days, minutes=1), tick=False):
        html = assert_bad_link_page(client.get(url), status=410)
        assert "This link has expired" in html
        client.post(url)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


@pytest.mark.parametrize("made_for,used_for", [("confirm", "manage"), ("manage", "unsubscribe"),
                                              ("unsubscribe", "manage"), ("digest", "confirm")])
def test_it_rejects_a_token_made_for_another_purpose(client, made_for, used_for):
    subscriber = SubscriberFactory()
    token = subscriber_token(subscriber, made_for)
    assert_bad_link_page(client.get(reverse(f"subscriptions:{used_for}", args=[token])))


def test_it_revokes_manage_and_confirm_links_on_sign_out_everywhere(client, django_capture_on_commit_callbacks):
    subscriber = SubscriberFactory()
    manage = reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")])
    confirm = reverse("subscriptions:confirm", args=[subscriber_token(subscriber, "confirm")])
    with django_capture_on_commit_callbacks(execute=True):
        subscriber_sign_out_everywhere(subscriber_id=subscriber.pk)
    assert_bad_link_page(client.get(manage))
    assert_bad_link_page(client.get(confirm))
    subscriber.refresh_from_db()
    assert client.get(reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")])).status_code == 200


def test_it_keeps_unsubscribe_links_in_old_emails_working_after_sign_out(client, django_capture_on_commit_callbacks):
    subscriber = SubscriberFactory()
    unsubscribe = reverse("subscriptions:one_click_unsubscribe", args=[subscriber_token(subscriber, "unsubscribe")])
    with django_capture_on_commit_callbacks(execute=True):
        subscriber_sign_out_everywhere(subscriber_id=subscriber.pk)
    assert client.post(unsubscribe, {"List-Unsubscribe": "One-Click"}).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.parametrize("purpose", PAGES)
def test_it_revokes_every_link_when_the_subscriber_is_deleted(client, purpose):
    subscriber = SubscriberFactory()
    url = reverse(f"subscriptions:{purpose}", args=[subscriber_token(subscriber, purpose)])
    subscriber_delete(subscriber_id=subscriber.pk)
    assert_bad_link_page(client.get(url))
    # The same address signing up again gets a new row; old links stay dead.
    SubscriberFactory(email=subscriber.email)
    assert_bad_link_page(client.get(url))


@pytest.mark.parametrize(("purpose", "extra"), [("digest", "2024-03-12"), ("manage", ""), ("unsubscribe", ""),
                                                ("digest", 'quote " and \\ and é')])
def test_token_make_writes_what_djangos_signing_dumps_writes(purpose, extra):
    with time_machine.travel(1_710_237_600, tick=False):
        for sid, version in ((1, 1), (987654, 3)):
            token = token_make(subscriber_id=sid, token_version=version, purpose=purpose, extra=extra)
            payload = [sid, version] + ([extra] if extra else [])
            assert token == signing.dumps(payload, salt=f"subscriptions.token.{purpose}", compress=False)
            assert token_read(token, purpose=purpose).extra == extra


def test_a_new_secret_key_signs_with_the_new_key_and_the_old_tokens_stop_working(settings):
    old = token_make(subscriber_id=7, token_version=1, purpose="manage")
    settings.SECRET_KEY = "another-secret-for-this-test-only-0123456789"

    new = token_make(subscriber_id=7, token_version=1, purpose="manage")

    assert new != old and token_read(new, purpose="manage").subscriber_id == 7
    with pytest.raises(TokenError):
        token_read(old, purpose="manage")
