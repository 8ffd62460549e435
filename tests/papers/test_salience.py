"""A term only in an availability line or a background list is not what the paper is about."""
from __future__ import annotations

import pytest

from papers.search import PaperIndex


def found(keyword: str, abstract: str, title: str = "A paper") -> bool:
    return bool(PaperIndex.build([(1, title, abstract)]).match(keyword))


@pytest.mark.parametrize(
    "abstract",
    [
        "We propose a method. Code is available at https://github.com/x/y.",
        "We propose a method. Our code and models will be publicly released.",
        "We propose a method. Codes are available in the supplement.",
    ],
)
def test_it_ignores_availability_lines(abstract):
    assert not found("code", abstract)


def test_it_keeps_code_as_a_topic():
    assert found("code", "We pre-train on source code. Code is available at https://github.com/x/y.")
    assert found("code", "Large volumes of rich aligned code and text data are used for pre-training.")


@pytest.mark.parametrize(
    "abstract, is_found",
    [
        ("Pre-training helps many tasks such as question answering, summarization and translation.", False),
        ("Fine-tuning targets (e.g., natural language generation, text summarization, etc.).", False),
        ("We study abstractive summarization of news.", True),
        ("Our approach achieves gains on benchmarks including ImageNet, COCO and summarization.", True),
        ("Pre-trained models, e.g., a summarization model, on downstream tasks.", True),  # one named example
    ],
)
def test_it_ignores_a_term_named_only_in_a_list_of_examples(abstract, is_found):
    assert found("summarization", abstract) is is_found


def test_a_title_hit_always_counts():
    assert found("summarization", "Tasks such as summarization and translation.", title="Summarization at scale")


@pytest.mark.parametrize(
    ("keyword", "abstract"),
    [
        ("LoRA", "We improve low-rank methods such as LoRA and DoRA by sharing bases across layers."),
        ("NER", "We study information extraction tasks like NER and relation extraction in clinical notes."),
    ],
)
def test_it_keeps_a_list_that_is_the_papers_own_subject(keyword, abstract):
    assert found(keyword, abstract)


def test_it_still_drops_a_list_of_contrasts():
    assert not found("GAN", "Unlike generative models like GANs or VAEs, our flow computes exact likelihoods.")
    assert not found("LoRA", "We propose a new optimizer. Prior methods such as LoRA and DoRA tune few weights.")
