"""Atom feeds: the public trending list (/feed/) and a reader's own digest (signed, revocable)."""
from __future__ import annotations

import datetime as dt

import feedparser
import pytest
import time_machine
from django.urls import reverse

from subscriptions.models import Digest
from subscriptions.services.subscribers import subscriber_sign_out_everywhere
from subscriptions.tokens import subscriber_token
from tests.factories import DailyNoteFactory, DigestFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 11)


def parse(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception  # well-formed XML
    assert feed.version == "atom10"
    return feed


@pytest.fixture
def days():
    for n in range(12):
        paper = PaperFactory(title=f"Paper {n} on $\\alpha$-Diffusion", upvotes=100 - n, ai_summary=f"Summary {n}.")
        ListingFactory(paper=paper, listed_on=DAY, rank=n + 1, upvotes=100 - n)
    earlier = PaperFactory(title="Yesterday's Best")
    ListingFactory(paper=earlier, listed_on=DAY - dt.timedelta(days=1), rank=1)
    hidden = PaperFactory(title="Hidden Paper", is_hidden=True, upvotes=1000)
    ListingFactory(paper=hidden, listed_on=DAY, rank=1)
    DailyNoteFactory(date=DAY, body="A **good** day.")


def test_the_public_feed_lists_each_days_top_10(client, days):
    feed = parse(client.get(reverse("papers:feed")))
    titles = [e.title for e in feed.entries]
    assert titles[:10] == [f"Paper {n} on α-Diffusion" for n in range(10)]
    assert "Paper 10 on α-Diffusion" not in titles and "Hidden Paper" not in titles
    assert titles[10] == "Yesterday's Best"
    first = feed.entries[0]
    assert "#1 trending on March 11, 2024" in first.summary and "Editor’s note" in first.summary
    assert "Summary 0." in first.summary
    assert first.link.endswith(reverse("papers:paper", args=[int(first.link.rstrip("/").rsplit("/", 1)[1])]))
    assert len({e.id for e in feed.entries}) == len(feed.entries)


def test_the_public_feed_is_valid_when_empty(client):
    feed = parse(client.get(reverse("papers:feed")))
    assert feed.entries == []


def test_every_page_links_the_public_feed(client, days):
    html = client.get(reverse("papers:home")).content.decode()
    link = 'rel="alternate" type="application/atom+xml" title="Trending Papers: the day’s trending list"'
    assert f'<link {link} href="{reverse("papers:feed")}">' in html


@pytest.fixture
def reader():
    subscriber = SubscriberFactory()
    a = PaperFactory(title="Matched Paper", abstract="about diffusion")
    b = PaperFactory(title="Second Paper")
    DigestFactory(subscriber=subscriber, digest_date=DAY, status=Digest.Status.SENT, papers=[a.id, b.id],
                  matches={str(a.id): ["diffusion"]})
    DigestFactory(subscriber=subscriber, digest_date=DAY + dt.timedelta(days=1), status=Digest.Status.SKIPPED)
    DigestFactory(subscriber=SubscriberFactory(), digest_date=DAY, papers=[PaperFactory(title="Someone Else's").id])
    return subscriber


def feed_url(subscriber):
    return reverse("subscriptions:feed", args=[subscriber_token(subscriber, "feed")])


def test_the_personal_feed_lists_the_readers_digests(client, reader):
    feed = parse(client.get(feed_url(reader)))
    assert [e.title for e in feed.entries] == ["Matched Paper", "Second Paper"]
    assert "Matches diffusion." in feed.entries[0].summary
    assert feed.feed.title == "Your Trending Papers digest"


def test_the_manage_page_shows_and_links_the_personal_feed(client, reader):
    with time_machine.travel(dt.datetime(2024, 3, 12, 9, 0, tzinfo=dt.UTC), tick=False):  # a token carries its second
        html = client.get(reverse("subscriptions:manage", args=[subscriber_token(reader, "manage")])).content.decode()
        url = feed_url(reader)
    assert f'value="http://testserver{url}"' in html or url in html
    assert '<link rel="alternate" type="application/atom+xml" title="Your Trending Papers digest"' in html


def test_sign_out_everywhere_revokes_the_personal_feed(client, reader, django_capture_on_commit_callbacks):
    url = feed_url(reader)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        subscriber_sign_out_everywhere(subscriber_id=reader.pk)
    assert client.get(url).status_code == 404
    reader.refresh_from_db()
    assert client.get(feed_url(reader)).status_code == 200


def test_a_tampered_or_foreign_token_is_a_404(client, reader):
    assert client.get(reverse("subscriptions:feed", args=["nonsense"])).status_code == 404
    manage = subscriber_token(reader, "manage")
    assert client.get(reverse("subscriptions:feed", args=[manage])).status_code == 404
