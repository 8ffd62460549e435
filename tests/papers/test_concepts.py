"""The concept glossary (papers/data/concepts.toml): its schema, and one concept per alias."""
from __future__ import annotations

import pytest

from papers.search import PaperIndex
from papers.topics import GlossaryError, alias_key, glossary, glossary_parse


def test_it_ships_a_few_hundred_concepts_with_unique_aliases():
    shipped = glossary()
    assert len(shipped.concepts) >= 150
    owners: dict[str, str] = {}
    for concept in shipped.concepts:
        for alias in concept.aliases:
            key = alias_key(alias)
            assert owners.setdefault(key, concept.name) == concept.name, f"{alias!r}: {owners[key]} and {concept.name}"


@pytest.mark.parametrize(
    "toml, problem",
    [
        ('[[concept]]\nacronyms = ["X"]', "`name` must be a non-empty string"),
        ('[[concept]]\nname = "a"\nsynonyms = ["b"]', "unknown field(s) ['synonyms']"),
        ('[[concept]]\nname = "a"\nnarrower = "b"', "`narrower` must be a list of non-empty strings"),
        ('[[concept]]\nname = "a"\nspellings = ["--"]', "'--' has nothing a paper could match"),
        (
            '[[concept]]\nname = "graph neural network"\n'
            '[[concept]]\nname = "GNNs"\nspellings = ["Graph Neural Networks"]',
            "'Graph Neural Networks' already names 'graph neural network'",
        ),
        ("[concepts]\nname = 1", "unknown top-level key(s) ['concepts']"),
        ("[[concept]\nname =", "concepts.toml:"),
    ],
)
def test_it_refuses_a_malformed_glossary_naming_the_concept_and_field(toml, problem):
    with pytest.raises(GlossaryError) as error:
        glossary_parse(toml)
    assert problem in str(error.value)


def test_it_expands_an_acronym_to_its_long_form_and_family():
    index = PaperIndex.build([
        (1, "Deep Convolutional Neural Networks for images", ""),
        (2, "ResNet at scale", ""),
        (3, "Summaries of CNN/DailyMail articles", ""),
        (4, "A CNN for speech", ""),
    ])
    found = {m.paper_id: m for m in index.match("CNN")}
    assert sorted(found) == [1, 2, 4]  # the dataset's "CNN" is another sense
    assert found[1].via == ("convolutional neural network",)
    assert found[4].via == ("",)  # the keyword as typed
    assert 2 not in {m.paper_id for m in index.match("CNN", disabled=frozenset({alias_key("ResNet")}))}


def test_it_ranks_the_keyword_above_a_narrower_term():
    index = PaperIndex.build([(1, "RoBERTa and DeBERTa", ""), (2, "BERT for ranking", "")])
    assert [m.paper_id for m in index.match("BERT")] == [2, 1]


@pytest.mark.parametrize(
    "keyword, text, found",
    [
        ("tokenization", "A new tokenizer for code", True),
        ("tokenization", "Tokenization matters for multilingual models", True),
        ("tokenization", "Each token is embedded", False),
        ("summarization", "Abstractive summarization with transformers", True),
        ("summarization", "This paper summarizes recent work", False),
        ("medical", "Biomedical language models", True),
        ("instruction tuning", "Instruction fine-tuning of LLMs", True),
        ("PEFT", "Parameter-efficient fine-tuning with adapters", True),
        ("OOD", "Robustness to out-of-distribution inputs", True),
        ("OOD", "Good food in the neighborhood", False),
        ("CoT", "Chain-of-thought prompting elicits reasoning", True),
        ("question answering", "State of the art on SQuAD", True),
    ],
)
def test_it_matches_topics_not_just_words(keyword, text, found):
    assert bool(PaperIndex.build([(1, text, "")]).match(keyword)) is found
