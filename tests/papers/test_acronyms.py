"""Acronyms mined from the corpus: "long form (SHORT)", kept current on import, used both ways."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from papers.acronyms import find_definitions
from papers.models import AcronymDefinition, Paper
from papers.search import keyword_alternatives
from papers.search_results import papers_matching


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Contrastive Language-Image Pre-training (CLIP) here.", [("CLIP", "Contrastive Language-Image Pre-training")]),
        ("self-supervised learning (SSL) helps", [("SSL", "self-supervised learning")]),
        ("large language models (LLMs) are big", [("LLM", "large language models")]),
        ("We took StackOverflow (SO) as a domain", [("SO", "StackOverflow")]),
        ("the results (see Table 2) are good", []),
        ("a model (ours) wins", []),
        ("accuracy (93.1%) is high", []),
    ],
)
def test_it_finds_definitions_the_schwartz_hearst_way(text, expected):
    assert find_definitions(text) == expected


def import_abstracts(tmp_path, *papers: tuple[str, str]) -> None:
    feed = tmp_path / "papers.json"
    items = [{"title": t, "summary": a, "publishedAt": "2024-03-11T00:00:00.000Z"} for t, a in papers]
    feed.write_text(json.dumps(items))
    call_command("import_papers", str(feed), "--format", "hf-json", stdout=StringIO())


def titles(keyword: str, **kwargs) -> list[str]:
    return sorted(p.title for p in papers_matching(keyword, **kwargs))


@pytest.mark.django_db
def test_it_records_definitions_on_import_and_matches_both_ways(tmp_path):
    import_abstracts(
        tmp_path,
        ("Defining paper", "We study sparse mixture routing (SMR) for large models."),
        ("Acronym only", "SMR scales to many experts."),
        ("Long form only", "Our sparse mixture routing is fast."),
        ("Unrelated", "We study dense models."),
    )
    assert list(AcronymDefinition.objects.values_list("short", "long_form")) == [("SMR", "sparse mixture routing")]
    assert titles("SMR") == ["Acronym only", "Defining paper", "Long form only"]
    assert titles("sparse mixture routing") == ["Acronym only", "Defining paper", "Long form only"]
    # The subscriber switched the long form off: the acronym as written, only.
    assert titles("SMR", disabled=frozenset({"spars mixtur rout"})) == ["Acronym only", "Defining paper"]


@pytest.mark.django_db
def test_it_keeps_two_long_forms_of_one_acronym_apart_by_evidence(tmp_path):
    import_abstracts(
        tmp_path,
        ("Tuning one", "Parameter-efficient tuning (PET) trains few weights."),
        ("Tuning two", "Parameter-efficient tuning (PET) again, with adapters."),
        ("Imaging", "Positron emission tomography (PET) scans of the brain. PET is costly."),
        ("Bare", "PET wins."),
    )
    # A paper that defines PET as something else is not about parameter-efficient tuning...
    assert "Imaging" not in titles("parameter-efficient tuning")
    # ...and a bare short acronym with two senses in the corpus counts only where defined.
    assert "Bare" not in titles("parameter-efficient tuning")
    # ...and both senses are offered, apart, for the bare acronym.
    assert titles("PET") == ["Bare", "Imaging", "Tuning one", "Tuning two"]
    assert "Imaging" not in titles("PET", disabled=frozenset({"positron emiss tomographi"}))


@pytest.mark.django_db
def test_a_short_acronym_with_one_sense_in_the_corpus_counts_bare(tmp_path):
    import_abstracts(
        tmp_path,
        ("Tuning one", "Parameter-efficient tuning (PET) trains few weights."),
        ("Bare", "PET wins."),
    )
    assert "Bare" in titles("parameter-efficient tuning")


@pytest.mark.django_db
def test_it_updates_the_definitions_when_a_paper_gains_its_abstract(tmp_path):
    import_abstracts(tmp_path, ("A paper on routing", ""))
    assert not AcronymDefinition.objects.exists()
    import_abstracts(tmp_path, ("A paper on routing", "Sparse mixture routing (SMR) is new."))
    paper = Paper.objects.get()
    assert [(d.paper_id, d.short) for d in AcronymDefinition.objects.all()] == [(paper.id, "SMR")]


@pytest.mark.django_db
def test_its_alternatives_cover_every_expansion(tmp_path):
    import_abstracts(tmp_path, ("Defining paper", "We study sparse mixture routing (SMR)."))
    sequences = keyword_alternatives("SMR")
    assert (("^SMR",),) in sequences
    assert (("spars",), ("mixtur",), ("rout",)) in sequences
    switched_off = keyword_alternatives("SMR", disabled=frozenset({"spars mixtur rout"}))
    assert (("spars",), ("mixtur",), ("rout",)) not in switched_off
