"""Unsubscribe: a page with one button, and the RFC 8058 one-click POST."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.tokens import subscriber_token
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

Status = Subscriber.Status


@pytest.fixture
def subscriber():
    return SubscriberFactory(email="ada@example.org")


@pytest.fixture
def page(subscriber):
    return reverse("subscriptions:unsubscribe", args=[subscriber_token(subscriber, "unsubscribe")])


@pytest.fixture
def one_click(subscriber):
    return reverse("subscriptions:one_click_unsubscribe", args=[subscriber_token(subscriber, "unsubscribe")])


def test_it_shows_one_button_and_changes_nothing_on_get(client, page, subscriber):
    html = client.get(page).content.decode()
    main = html[html.index("<main"):html.index("</main>")]
    assert main.count("<button") == 1
    assert ">Unsubscribe</button>" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE


def test_it_unsubscribes_at_once_on_post(client, page, subscriber):
    response = client.post(page, follow=True)
    assert "You’re unsubscribed" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_it_accepts_the_one_click_post_without_csrf(one_click, subscriber):
    client = Client(enforce_csrf_checks=True)
    response = client.post(one_click, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Status.UNSUBSCRIBED


def test_it_is_idempotent(one_click, subscriber):
    client = Client(enforce_csrf_checks=True)
    for _ in range(3):
        assert client.post(one_click, {"List-Unsubscribe": "One-Click"}).status_code == 200
    subscriber.refresh_from_db()
    first = subscriber.unsubscribed_at
    client.post(one_click, {"List-Unsubscribe": "One-Click"})
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at == first


def test_it_shows_the_normal_page_on_get_of_the_one_click_url(client, one_click, subscriber):
    response = client.get(one_click)
    assert response.status_code == 200
    assert ">Unsubscribe</button>" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE


def test_it_answers_a_bad_one_click_token_with_a_4xx_page(subscriber):
    client = Client(enforce_csrf_checks=True)
    for token in ("garbage", subscriber_token(subscriber, "manage"), "a" * 5000):
        response = client.post(f"/unsubscribe/{token}/one-click/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE


def test_it_keeps_bounced_and_complained_as_they_are(client):
    for status in (Status.BOUNCED, Status.COMPLAINED):
        s = SubscriberFactory(status=status)
        response = client.post(reverse("subscriptions:unsubscribe", args=[subscriber_token(s, "unsubscribe")]), follow=True)
        assert "You’re unsubscribed" in response.content.decode()
        s.refresh_from_db()
        assert s.status == status


def test_it_needs_csrf_on_the_normal_page(page, subscriber):
    assert Client(enforce_csrf_checks=True).post(page).status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE
