"""Sign up from where you are: search results, a paper's topics, and HF's one-line summary on the paper page."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.urls import reverse

from papers.concepts import paper_concepts
from tests.factories import ListingFactory, PaperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper():
    paper = PaperFactory(
        title="VL-GPT: A Generative Pre-trained Transformer for Vision and Language with LoRA",
        abstract="We present VL-GPT, trained with LoRA adapters on image-text pairs.",
        ai_summary="A GPT for images and text.",
        ai_keywords=["image-text pairs", "zebra crossings", "LoRA"],
    )
    ListingFactory(paper=paper, listed_on=dt.date(2024, 3, 11))
    return paper


def test_search_results_offer_them_by_email(client, paper):
    html = client.get(reverse("papers:search"), {"q": "vision and language"}).content.decode()
    link = f'{reverse("subscriptions:subscribe")}?keywords={quote("vision and language")}'
    assert f'href="{link}">Get these by email' in html


def test_the_subscribe_form_comes_prefilled(client):
    html = client.get(reverse("subscriptions:subscribe"), {"keywords": "speech <recognition>"}).content.decode()
    assert ">speech &lt;recognition&gt;</textarea>" in html


def test_a_paper_offers_its_concepts_that_match_it(client, paper):
    # "zebra crossings" is not in the paper: the matcher decides, so it is not offered.
    assert paper_concepts(paper) == ["image-text pairs", "LoRA", "VL-GPT"]
    html = client.get(reverse("papers:paper", args=[paper.id])).content.decode()
    assert "Get new papers like this by email" in html
    assert f'href="{reverse("subscriptions:subscribe")}?keywords=image-text%20pairs">image-text pairs</a>' in html
    assert "In one line:</strong> A GPT for images and text." in html


def test_a_paper_without_ai_keywords_offers_what_its_title_names(paper):
    paper.ai_keywords = []
    assert paper_concepts(paper) == ["VL-GPT", "LoRA"]
