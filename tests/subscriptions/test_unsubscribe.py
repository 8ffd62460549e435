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


def test_it_shows_one_unsubscribe_button_after_gentler_choices_and_changes_nothing_on_get(client, page, subscriber):
    html = client.get(page).content.decode()
    main = html[html.index("<main"):html.index("</main>")]
    assert main.count(">Unsubscribe</button>") == 1
    # Leaving gently: weekly, pause and other keywords come before the button.
    for choice in ("Get one email a week instead", "Pause for now", "Edit my keywords"):
        assert main.index(choice) < main.index(">Unsubscribe</button>")
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
        url = reverse("subscriptions:unsubscribe", args=[subscriber_token(s, "unsubscribe")])
        response = client.post(url, follow=True)
        assert "You’re unsubscribed" in response.content.decode()
        s.refresh_from_db()
        assert s.status == status


def test_it_needs_csrf_on_the_normal_page(page, subscriber):
    assert Client(enforce_csrf_checks=True).post(page).status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == Status.ACTIVE


def test_it_switches_to_weekly_instead(client, page, subscriber):
    response = client.post(page, {"action": "weekly"}, follow=True)
    assert "one digest a week" in response.content.decode()
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.frequency, subscriber.send_weekday) == (Status.ACTIVE, "weekly", 0)
    assert "Get one email a week instead" not in response.content.decode()


def test_it_pauses_instead(client, page, subscriber):
    response = client.post(page, {"action": "pause"}, follow=True)
    html = response.content.decode()
    assert "Your digests are paused" in html and "Unsubscribe completely" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Status.PAUSED


def test_edit_my_keywords_opens_the_settings(client, page):
    html = client.get(page).content.decode()
    manage = html.split('href="/manage/')[1].split('"')[0]
    assert "Your subscription" in client.get(f"/manage/{manage}").content.decode()


def test_a_revoked_link_can_only_unsubscribe(client, page, subscriber):
    Subscriber.objects.filter(pk=subscriber.pk).update(token_version=subscriber.token_version + 1)
    html = client.get(page).content.decode()
    assert ">Unsubscribe</button>" in html
    assert "Pause for now" not in html and "/manage/" not in html
    client.post(page, {"action": "weekly"})
    subscriber.refresh_from_db()
    assert (subscriber.frequency, subscriber.status) == ("daily", Status.ACTIVE)
    client.post(page, {"action": "unsubscribe"})
    subscriber.refresh_from_db()
    assert subscriber.status == Status.UNSUBSCRIBED


def test_one_click_stays_one_click(one_click, subscriber):
    response = Client(enforce_csrf_checks=True).post(one_click, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Status.UNSUBSCRIBED
