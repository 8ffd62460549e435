"""Just the trending list: no keywords at sign-up, "plus the top 3", the preview, the manage page switch."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.tokens import subscriber_token
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

from .conftest import link_in

pytestmark = pytest.mark.django_db

Trending = Subscriber.Trending
PREVIEW = reverse("subscriptions:keyword_preview")


def test_it_signs_up_for_the_trending_list_with_no_keywords(signup, outbox, client):
    response = signup(keywords="")
    assert response.status_code == 302
    subscriber = Subscriber.objects.get()
    assert subscriber.trending == Trending.ONLY
    assert list(subscriber.keywords.all()) == []
    assert "top 10 trending" in outbox[0].body
    page = client.get(link_in(outbox[0], "/confirm/")).content.decode()
    assert "top 10 trending papers" in page


def test_it_adds_the_top_3_trending_when_asked(signup, outbox):
    signup(keywords="diffusion", plus_trending="on")
    subscriber = Subscriber.objects.get()
    assert subscriber.trending == Trending.TOP3
    assert [k.text for k in subscriber.keywords.all()] == ["diffusion"]
    assert "Plus the day's top 3 trending papers." in outbox[0].body


def test_it_keeps_keywords_only_by_default(signup):
    signup(keywords="diffusion")
    assert Subscriber.objects.get().trending == Trending.OFF


def test_the_form_says_what_no_keywords_means(client):
    html = client.get(reverse("subscriptions:subscribe")).content.decode()
    assert "Leave it empty to get just the day’s top 10 trending papers." in html
    assert 'name="plus_trending"' in html


@pytest.fixture
def trending_day():
    day = dt.date(2024, 3, 11)
    top = PaperFactory(title="The Paper Everyone Reads", upvotes=300)
    ListingFactory(paper=top, listed_on=day, rank=1, upvotes=300)
    other = PaperFactory(title="Diffusion for Proteins", abstract="diffusion models", upvotes=1)
    ListingFactory(paper=other, listed_on=day, rank=9, upvotes=1)
    return day


def test_the_preview_shows_the_trending_list_when_there_are_no_keywords(client, trending_day):
    html = client.get(PREVIEW, {"keywords": ""}).content.decode()
    assert "you get the day’s top 10 trending papers" in html
    assert html.index("The Paper Everyone Reads") < html.index("Diffusion for Proteins")


def test_the_preview_shows_the_top_3_after_keyword_matches(client, trending_day):
    html = client.get(PREVIEW, {"keywords": "diffusion", "trending": "top3"}).content.decode()
    assert "Plus the day’s top 3 trending papers" in html
    assert html.index("Plus the day") < html.rindex("The Paper Everyone Reads")
    plain = client.get(PREVIEW, {"keywords": "diffusion", "trending": "off"}).content.decode()
    assert "top 3 trending" not in plain and "The Paper Everyone Reads" not in plain


@pytest.fixture
def reader():
    subscriber = SubscriberFactory()
    KeywordFactory(subscriber=subscriber, text="diffusion")
    return subscriber


def _save(client, subscriber, **fields):
    data = {"keywords": "diffusion", "frequency": "daily", "send_weekday": "0", "send_hour": "7", "timezone": "UTC",
            "exclusions": "", "authors": ""}
    data.update(fields)
    return client.post(reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")]), data)


def test_the_manage_page_switches_to_the_trending_list_and_back(client, reader):
    assert _save(client, reader, trending="only").status_code == 302
    reader.refresh_from_db()
    assert reader.trending == Trending.ONLY
    # The keywords are kept, so switching back restores them.
    assert [k.text for k in reader.keywords.all()] == ["diffusion"]
    _save(client, reader, trending="top3")
    reader.refresh_from_db()
    assert reader.trending == Trending.TOP3


def test_the_trending_list_alone_needs_no_keywords_but_the_others_do(client, reader):
    assert _save(client, reader, trending="only", keywords="").status_code == 302
    reader.refresh_from_db()
    assert list(reader.keywords.all()) == []
    response = _save(client, reader, trending="off", keywords="")
    assert response.status_code == 400
    assert "or choose “Just the day’s top 10 trending papers”" in response.content.decode()
    reader.refresh_from_db()
    assert reader.trending == Trending.ONLY


def test_a_junk_choice_is_a_form_error(client, reader):
    response = _save(client, reader, trending="everything")
    assert response.status_code == 400
    assert "Choose what your digest should hold." in response.content.decode()
