"""papers_matching(): the matcher over the database, as site search and previews use it."""
from __future__ import annotations

import json

import pytest

from papers.models import Paper
from papers.search import KeywordError, PaperIndex
from papers.search_results import papers_matching
from tests.conftest import DATA
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def titles(papers):
    return [p.title for p in papers]


def test_it_returns_matching_papers_best_first_with_their_match():
    PaperFactory(title="Notes", abstract="We study pre-training once.")
    PaperFactory(title="Pre-Training at Scale", abstract="Pretraining, pretrained, pre-trains.")
    PaperFactory(title="Fine-tuning only", abstract="No such thing here.")
    found = papers_matching("pretraining")
    assert titles(found) == ["Pre-Training at Scale", "Notes"]
    assert found[0].keyword_match.paper_id == found[0].id
    assert found[0].keyword_match.score > found[1].keyword_match.score
    assert "Pre-Training" in found[0].keyword_match.terms


def test_it_leaves_out_hidden_papers_even_from_a_given_queryset():
    PaperFactory(title="Visible retrieval paper")
    PaperFactory(title="Hidden retrieval paper", is_hidden=True)
    assert titles(papers_matching("retrieval")) == ["Visible retrieval paper"]
    assert titles(papers_matching("retrieval", Paper.objects.all())) == ["Visible retrieval paper"]


def test_it_searches_only_the_queryset_it_is_given():
    old = PaperFactory(title="Old BERT paper")
    PaperFactory(title="New BERT paper")
    assert titles(papers_matching("BERT", Paper.objects.exclude(pk=old.pk))) == ["New BERT paper"]


def test_it_works_on_a_distinct_queryset_with_joins():
    from tests.factories import ListingFactory

    paper = PaperFactory(title="Graph Neural Networks for Chemistry")
    ListingFactory(paper=paper)
    ListingFactory(paper=paper, listed_on=paper.published_on.replace(day=12))
    recent = Paper.objects.filter(listings__listed_on__gte=paper.published_on).distinct()
    assert titles(papers_matching("graph neural network", recent)) == ["Graph Neural Networks for Chemistry"]


@pytest.mark.parametrize("keyword", ["", "   ", "?!", "x" * 101])
def test_it_refuses_what_it_cannot_match_with_a_value_error(keyword):
    with pytest.raises(KeywordError) as info:
        papers_matching(keyword)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


KEYWORDS = [
    "pretraining", "pre-trained", "retrieval", "retrieving", "graph neural network", "BERT", "GPT", "few-shot",
    "fewshot", "auto-regressive", "diffusion", "speech recognition", "transformer", "reinforcement learning",
    "contrastive learning", "knowledge distillation", "object detectors", "masked auto-encoder", "LoRA",
    "language models", "zero shot", "fine tuning", "data set", "state of the art", "GPT-3", "image text",
    "studies", "multimodal", "self supervised", "naive", "ImageNet", "3D",
]  # fmt: skip


def test_it_finds_in_the_database_what_an_index_over_every_paper_finds():
    """The database prefilter never drops a paper the index would match (on the labelled set)."""
    papers = json.loads((DATA / "matching" / "papers.json").read_text(encoding="utf-8"))
    rows = [PaperFactory(title=p["title"], abstract=p["abstract"]) for p in papers]
    index = PaperIndex.build((p.id, p.title, p.abstract) for p in rows)
    for keyword in KEYWORDS:
        expected = [m.paper_id for m in index.match(keyword)]
        assert [p.id for p in papers_matching(keyword)] == expected, keyword
    assert any(index.match(k) for k in KEYWORDS)
