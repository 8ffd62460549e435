"""What a keyword also matches: shown in the preview and on the manage page, switchable per subscriber."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from papers.search_results import papers_matching
from papers.topics import alias_key
from subscriptions.models import Keyword
from subscriptions.tokens import subscriber_token
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

RESNET = alias_key("ResNet")  # the switch's key: "^ResNet"


@pytest.fixture
def subscriber():
    s = SubscriberFactory(email="ada@example.org")
    KeywordFactory(subscriber=s, text="CNN", normalized="CNN")
    KeywordFactory(subscriber=s, text="zebrafish", normalized="zebrafish")
    return s


def manage_url(subscriber):
    return reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")])


def expansions_url(subscriber, keyword):
    return reverse("subscriptions:manage_expansions", args=[subscriber_token(subscriber, "manage"), keyword.pk])


def test_the_preview_says_what_else_a_keyword_matches(client):
    day = dt.date(2024, 3, 11)
    ListingFactory(paper=PaperFactory(title="Deep Convolutional Neural Networks", abstract="Images."), listed_on=day)
    html = client.get(reverse("subscriptions:keyword_preview"), {"keywords": "CNN"}).content.decode()
    assert "also: convolutional neural network, ConvNet" in html
    assert "Deep Convolutional Neural Networks" in html  # found through the long form


def test_the_manage_page_lists_each_expansion_with_a_switch(client, subscriber):
    html = client.get(manage_url(subscriber)).content.decode()
    assert "<strong>CNN</strong> — also: convolutional neural network, ConvNet" in html
    assert 'value="convolut neural network" id="exp-' in html and " checked>" in html
    assert "zebrafish</strong> — also" not in html  # nothing else to match


def test_switching_one_off_is_remembered_and_survives_a_keyword_save(client, subscriber):
    cnn = subscriber.keywords.get(normalized="CNN")
    offered = [alias_key(t) for t in ("convolutional neural network", "ConvNet", "ResNet")]
    response = client.post(expansions_url(subscriber, cnn), {"on": offered[:2]})
    assert response.status_code == 302 and response["Location"].endswith("#expansions")
    cnn.refresh_from_db()
    assert RESNET in cnn.disabled_expansions and "convolut neural network" not in cnn.disabled_expansions
    html = client.get(manage_url(subscriber)).content.decode()
    resnet_box = html.split(f'value="{RESNET}"', 1)[1].split(">", 1)[0]
    assert f'id="exp-{cnn.pk}-' in resnet_box and "checked" not in resnet_box
    assert "also: convolutional neural network, ConvNet" in html
    # Saving the keyword list again keeps the switch.
    client.post(manage_url(subscriber), {"keywords": "CNN\nzebrafish\ngraphs", "frequency": "daily",
                                         "send_weekday": "0", "send_hour": "8", "timezone": "UTC"})
    assert Keyword.objects.filter(subscriber=subscriber, normalized="graphs").exists()
    assert RESNET in Keyword.objects.get(subscriber=subscriber, normalized="CNN").disabled_expansions


def test_it_refuses_another_subscribers_keyword(client, subscriber):
    other = KeywordFactory(subscriber=SubscriberFactory(email="eve@example.org"), text="GAN", normalized="GAN")
    assert client.post(expansions_url(subscriber, other), {"on": []}).status_code == 404
    other.refresh_from_db()
    assert other.disabled_expansions == []


def test_the_search_honours_the_switches(client):
    PaperFactory(title="ResNet at scale", abstract="Residual nets.")
    PaperFactory(title="A CNN for speech", abstract="Audio.")
    assert {p.title for p in papers_matching("CNN")} == {"ResNet at scale", "A CNN for speech"}
    assert {p.title for p in papers_matching("CNN", disabled=frozenset({RESNET}))} == {"A CNN for speech"}
