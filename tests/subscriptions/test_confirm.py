"""Confirming: the link opens a page, only the button's POST confirms."""
from __future__ import annotations

import pytest

from subscriptions.models import Subscriber
from subscriptions.services.subscribers import subscriber_confirm
from subscriptions.tokens import subscriber_token
from tests.factories import SubscriberFactory

from .conftest import link_in

pytestmark = pytest.mark.django_db

Status = Subscriber.Status


@pytest.fixture
def confirm_link(signup, outbox):
    signup(email="ada@example.org", keywords="diffusion, <i>graphs</i>")
    return link_in(outbox[0], "/confirm/")


def test_it_shows_a_confirm_button_and_does_not_confirm_on_get(client, confirm_link):
    response = client.get(confirm_link)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Confirm my subscription" in html and 'method="post"' in html
    assert "ada@example.org" in html and "diffusion" in html
    # Link scanners in mail clients follow links; they must not confirm anyone.
    client.get(confirm_link)
    assert Subscriber.objects.get().status == Status.PENDING


def test_it_confirms_on_post_and_shows_a_welcome_page_with_a_manage_link(client, confirm_link):
    response = client.post(confirm_link, follow=True)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Status.ACTIVE
    assert subscriber.confirmed_at is not None
    html = response.content.decode()
    assert "You’re subscribed" in html
    # What the dispatch does for a first digest: the next send hour, no catching up on today's.
    assert f"Starting at the next {subscriber.send_hour:02d}:00 ({subscriber.timezone} time)" in html
    manage = response.context["manage_url"]
    assert manage.startswith("/manage/")
    assert client.get(manage).status_code == 200


def test_it_is_idempotent(client, confirm_link):
    client.post(confirm_link)
    first = Subscriber.objects.get().confirmed_at
    again = client.post(confirm_link, follow=True)
    assert again.status_code == 200 and "You’re subscribed" in again.content.decode()
    assert Subscriber.objects.get().confirmed_at == first


def test_it_does_not_reactivate_a_paused_subscriber():
    subscriber = SubscriberFactory(status=Status.PAUSED)
    assert subscriber_confirm(subscriber_id=subscriber.pk) is False
    subscriber.refresh_from_db()
    assert subscriber.status == Status.PAUSED


def test_it_needs_the_csrf_token_to_confirm(confirm_link):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(confirm_link).status_code == 403
    assert Subscriber.objects.get().status == Status.PENDING


def test_it_refuses_a_manage_token_on_the_confirm_page(client):
    subscriber = SubscriberFactory(status=Status.PENDING)
    token = subscriber_token(subscriber, "manage")
    response = client.post(f"/confirm/{token}/")
    assert response.status_code == 400
    assert "This link doesn’t work" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.PENDING


def test_a_form_sent_without_its_security_token_gets_a_page_that_says_what_to_do(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/subscribe/", {"email": "someone@example.org", "keywords": "diffusion"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "Please try again" in page and "reload the page" in page
    assert "nothing was changed" in page
    assert not Subscriber.objects.exists()
