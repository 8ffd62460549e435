""""Email me a fresh link": the same answer for everyone, the right email for each."""
from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.factories import SubscriberFactory

from .conftest import link_in

pytestmark = pytest.mark.django_db

Status = Subscriber.Status


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    def post(email, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("subscriptions:send_link"), {"email": email, **extra})
    return post


def test_it_shows_the_form(client):
    html = client.get(reverse("subscriptions:send_link")).content.decode()
    assert 'name="email"' in html and "Email me a link" in html


def test_it_answers_the_same_for_unknown_and_known_addresses(ask, outbox, client):
    SubscriberFactory(email="known@example.org")
    unknown, known = ask("nobody@example.org"), ask("known@example.org")
    done = reverse("subscriptions:send_link_done")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url) == (302, done)
    assert "Check your inbox" in client.get(known.url).content.decode()
    assert [m.to for m in outbox] == [["known@example.org"]]


@pytest.mark.parametrize("status,path", [
    (Status.ACTIVE, "/manage/"), (Status.PAUSED, "/manage/"), (Status.UNSUBSCRIBED, "/manage/"),
    (Status.PENDING, "/confirm/"),
])
def test_it_sends_the_right_link(ask, outbox, client, status, path):
    SubscriberFactory(email="ada@example.org", status=status)
    ask("ADA@example.org")
    link = link_in(outbox[0], path)
    assert client.get(link).status_code == 200


def test_it_rejects_a_bad_address_next_to_the_field(ask, outbox):
    response = ask("not an address\r\nBcc: x@example.org")
    assert response.status_code == 400
    assert "without line breaks" in response.content.decode()
    assert outbox == []


def test_it_ignores_bots(ask, outbox):
    SubscriberFactory(email="ada@example.org")
    assert ask("ada@example.org", website="x").status_code == 302
    assert outbox == []


def test_the_bad_link_page_sends_a_fresh_link(client, ask, outbox):
    SubscriberFactory(email="ada@example.org")
    page = client.get("/manage/not-a-real-token/")
    assert page.status_code == 400
    assert 'action="/link/"' in page.content.decode()
    ask("ada@example.org")
    assert client.get(link_in(outbox[0], "/manage/")).status_code == 200
