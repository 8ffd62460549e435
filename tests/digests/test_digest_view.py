"""The signed web view of a digest: "view in browser" and "N more on the site"."""
from __future__ import annotations

import datetime as dt

import lxml.html
import pytest
from django.urls import reverse

from digests.services.build import digests_build
from subscriptions.models import Subscriber
from subscriptions.tokens import subscriber_token
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

DAY = dt.date(2024, 3, 12)

pytestmark = pytest.mark.django_db


def view(client, subscriber, day=DAY, purpose="digest"):
    token = subscriber_token(subscriber, purpose, extra=day.isoformat())
    response = client.get(reverse("digests:digest_view", args=[token]))
    return response, " ".join(lxml.html.document_fromstring(response.content.decode()).text_content().split())


@pytest.fixture
def reader():
    for n in range(13):
        ListingFactory(paper=PaperFactory(title=f"Diffusion Study {n}"), listed_on=DAY)
    ListingFactory(paper=PaperFactory(title="A Hidden Diffusion Paper", is_hidden=True), listed_on=DAY)
    subscriber = SubscriberFactory(email="ada@example.org")
    KeywordFactory(subscriber=subscriber, text="diffusion")
    digests_build(digest_date=DAY)
    return subscriber


def test_it_shows_every_new_paper_not_only_the_ten_in_the_email(client, reader):
    response, text = view(client, reader)

    assert response.status_code == 200
    assert "Your digest of March 12, 2024" in text
    assert "13 new papers matched your keywords; the first 10 were in the email" in text
    assert all(f"Diffusion Study {n}" in text for n in range(13))
    assert text.count("not in the email") == 3
    assert "Hidden" not in text


def test_it_says_when_nothing_matched(client):
    someone = SubscriberFactory()
    KeywordFactory(subscriber=someone, text="quantum chromodynamics")
    digests_build(digest_date=DAY)

    response, text = view(client, someone)

    assert response.status_code == 200 and "Nothing new matched your keywords on this day" in text


def test_it_refuses_a_link_made_for_something_else(client, reader):
    response, text = view(client, reader, purpose="manage")

    assert response.status_code == 400 and "This link doesn’t work" in text


def test_it_refuses_a_revoked_link(client, reader):
    token = subscriber_token(reader, "digest", extra=DAY.isoformat())
    Subscriber.objects.filter(pk=reader.pk).update(token_version=reader.token_version + 1)

    response = client.get(reverse("digests:digest_view", args=[token]))

    assert response.status_code == 400


def test_it_refuses_a_tampered_link(client, reader):
    token = subscriber_token(reader, "digest", extra=DAY.isoformat())

    response = client.get(reverse("digests:digest_view", args=[token[:-3] + "abc"]))

    assert response.status_code == 400
