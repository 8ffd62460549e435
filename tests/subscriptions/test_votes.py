"""More / fewer like this: a GET changes nothing, the POST records, says what changed and undoes; manage clears."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from subscriptions.models import Vote
from subscriptions.tokens import subscriber_token
from tests.factories import ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return SubscriberFactory()


@pytest.fixture
def papers():
    today = dt.date.today()
    made = {}
    for key, title, abstract in [
        ("protein", "Diffusion Models for Protein Structure", "Protein structure generation with diffusion."),
        ("protein2", "Protein Folding with Language Models", "Protein structure prediction from sequences."),
        ("speech", "Speech Recognition at Scale", "Automatic speech recognition with transformers."),
    ]:
        made[key] = PaperFactory(title=title, abstract=abstract)
        ListingFactory(paper=made[key], listed_on=today)
    return made


def token_of(reader, day="2024-03-11"):
    return subscriber_token(reader, "digest", extra=day)


def test_a_get_shows_one_button_and_records_nothing(client, reader, papers):
    url = reverse("subscriptions:vote", args=[token_of(reader), papers["protein"].id, "more"])
    html = client.get(url).content.decode()
    main = html[html.index("<main"):html.index("</main>")]
    assert main.count("<button") == 1 and "More like this</button>" in main
    assert not Vote.objects.exists()


def test_the_post_records_says_what_changed_and_undoes(reader, papers):
    client = Client(enforce_csrf_checks=False)
    url = reverse("subscriptions:vote", args=[token_of(reader), papers["protein"].id, "more"])
    html = client.post(url).content.decode()
    assert "Noted: more like this" in html
    assert "Protein Folding with Language Models" in html  # what the vote moves up
    assert "Speech Recognition at Scale" not in html
    assert list(Vote.objects.values_list("paper_id", "value")) == [(papers["protein"].id, 1)]
    # Voting again, the other way, replaces the opinion: still one row.
    client.post(reverse("subscriptions:vote", args=[token_of(reader), papers["protein"].id, "fewer"]))
    assert list(Vote.objects.values_list("value", flat=True)) == [-1]
    undo = reverse("subscriptions:vote_undo", args=[token_of(reader), papers["protein"].id])
    assert "Vote undone" in client.post(undo).content.decode()
    assert not Vote.objects.exists()


def test_bad_links_are_friendly(client, reader, papers):
    assert client.get(reverse("subscriptions:vote", args=["junk", papers["protein"].id, "more"])).status_code == 400
    maybe = reverse("subscriptions:vote", args=[token_of(reader), papers["protein"].id, "maybe"])
    assert client.get(maybe).status_code == 404
    assert client.get(reverse("subscriptions:vote", args=[token_of(reader), 999999, "more"])).status_code == 404
    manage = subscriber_token(reader, "manage")
    assert client.post(reverse("subscriptions:vote", args=[manage, papers["protein"].id, "more"])).status_code == 400
    assert not Vote.objects.exists()


def test_the_manage_page_lists_and_clears_votes(client, reader, papers):
    Vote.objects.create(subscriber=reader, paper=papers["protein"], value=1)
    Vote.objects.create(subscriber=reader, paper=papers["speech"], value=-1)
    token = subscriber_token(reader, "manage")
    html = client.get(reverse("subscriptions:manage", args=[token])).content.decode()
    assert "Diffusion Models for Protein Structure" in html and "Speech Recognition at Scale" in html
    assert "Your 2 votes" in html
    response = client.post(reverse("subscriptions:manage_votes_clear", args=[token]), follow=True)
    assert "Cleared 2 votes" in response.content.decode()
    assert not Vote.objects.exists()
