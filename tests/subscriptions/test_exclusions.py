"""Words to keep out: saved per subscription, matched by papers.search, shown in the preview."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from subscriptions.models import Exclusion, FollowedAuthor, Vote
from subscriptions.tokens import subscriber_token
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

PREVIEW = reverse("subscriptions:keyword_preview")


@pytest.fixture
def papers():
    day = dt.date(2024, 3, 11)
    for title, abstract in [
        ("A Survey of Diffusion Models", "We review diffusion models."),
        ("Diffusion for Medical Imaging", "Diffusion models for MRI in medical practice."),
        ("Fast Diffusion Sampling", "A sampler for diffusion models."),
    ]:
        ListingFactory(paper=PaperFactory(title=title, abstract=abstract), listed_on=day)


def test_the_preview_shows_what_each_exclusion_removes(client, papers):
    html = client.get(PREVIEW, {"keywords": "diffusion", "exclusions": "surveys, medical"}).content.decode()
    assert "matches 1 recent paper" in html
    assert "Fast Diffusion Sampling" in html
    # The matcher's stemming applies: "surveys" keeps out "A Survey of …".
    assert "“surveys” keeps out 1 of its papers, such as “A Survey of Diffusion Models”" in html
    assert "“medical” keeps out 1 of its papers, such as “Diffusion for Medical Imaging”" in html


def test_the_preview_explains_a_bad_exclusion(client, papers):
    response = client.get(PREVIEW, {"keywords": "diffusion", "exclusions": "!!!"})
    assert response.status_code == 200
    assert "no letters or digits" in response.content.decode()


@pytest.fixture
def reader():
    subscriber = SubscriberFactory()
    KeywordFactory(subscriber=subscriber, text="diffusion")
    return subscriber


def _save(client, subscriber, **fields):
    data = {"trending": "off", "keywords": "diffusion", "frequency": "daily", "send_weekday": "0", "send_hour": "7",
            "timezone": "UTC", "exclusions": "", "authors": ""}
    data.update(fields)
    url = reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")])
    return client.post(url, data), url


def test_the_manage_page_saves_and_shows_exclusions(client, reader):
    response, url = _save(client, reader, exclusions="survey\nMedical, SURVEY")
    assert response.status_code == 302
    # "SURVEY" and "survey" are one word to the matcher: the first spelling stays.
    assert [e.text for e in reader.exclusions.all()] == ["survey", "Medical"]
    assert "survey\nMedical</textarea>" in client.get(url).content.decode()


def test_too_many_exclusions_is_a_form_error_and_nothing_changes(client, reader):
    response, _ = _save(client, reader, exclusions=",".join(f"word{i}" for i in range(21)), keywords="graphs")
    assert response.status_code == 400
    assert "at most 20" in response.content.decode()
    assert [k.text for k in reader.keywords.all()] == ["diffusion"]
    assert list(reader.exclusions.all()) == []


def test_export_and_delete_cover_exclusions_authors_and_votes(client, reader):
    _save(client, reader, exclusions="survey", authors="Yann LeCun")
    paper = PaperFactory(title="Liked")
    Vote.objects.create(subscriber=reader, paper=paper, value=1)
    token = subscriber_token(reader, "manage")
    data = client.get(reverse("subscriptions:manage_export", args=[token])).json()
    assert data["exclusions"] == [{"text": "survey", "normalized": "survey"}]
    assert data["followed_authors"] == [{"name": "Yann LeCun", "key": "y lecun"}]
    assert [(v["title"], v["vote"]) for v in data["votes"]] == [("Liked", "more")]
    client.post(reverse("subscriptions:manage_delete", args=[token]))
    assert not Exclusion.objects.exists() and not FollowedAuthor.objects.exists() and not Vote.objects.exists()
