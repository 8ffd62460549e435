"""The live preview under the keyword box: a few recent matching titles per keyword."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import ListingFactory, PaperFactory

pytestmark = pytest.mark.django_db

URL = reverse("subscriptions:keyword_preview")


@pytest.fixture
def papers():
    day = dt.date(2024, 3, 11)
    recent = PaperFactory(title="Diffusion Models Beat GANs", abstract="We study diffusion models for images.")
    ListingFactory(paper=recent, listed_on=day)
    old = PaperFactory(title="An Old Diffusion Paper", abstract="Old diffusion work.")
    ListingFactory(paper=old, listed_on=day - dt.timedelta(days=90))
    hidden = PaperFactory(title="Hidden Diffusion", abstract="diffusion", is_hidden=True)
    ListingFactory(paper=hidden, listed_on=day)
    speech = PaperFactory(title="<b>Speech</b> Recognition at Scale", abstract="speech recognition with transformers")
    ListingFactory(paper=speech, listed_on=day)


def test_it_shows_recent_matching_titles_per_keyword(client, papers):
    html = client.get(URL, {"keywords": "diffusion, speech recognition, zebrafish"}).content.decode()
    assert "Diffusion Models Beat GANs" in html
    assert "An Old Diffusion Paper" not in html and "Hidden Diffusion" not in html
    assert "&lt;b&gt;Speech&lt;/b&gt; Recognition at Scale" in html and "<b>Speech</b>" not in html
    assert "zebrafish" in html and "no recent papers yet" in html


def test_it_explains_bad_keywords_without_failing(client, papers):
    response = client.get(URL, {"keywords": "x" * 150})
    assert response.status_code == 200
    assert "at most 100" in response.content.decode()
    assert client.get(URL, {"keywords": "\x00<script>"}).status_code == 200
    assert client.get(URL).status_code == 200


def test_it_works_with_no_papers_at_all(client):
    response = client.get(URL, {"keywords": "diffusion"})
    assert response.status_code == 200
    assert "no recent papers yet" in response.content.decode()


def test_it_is_rate_limited(client):
    from subscriptions.views import RATE_PREVIEW

    limit = int(RATE_PREVIEW.split("/")[0])
    for _ in range(limit):
        assert client.get(URL, {"keywords": "a"}).status_code == 200
    assert client.get(URL, {"keywords": "a"}).status_code == 429
