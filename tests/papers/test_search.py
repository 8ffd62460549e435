"""The matching rules a subscriber relies on (docs/matching.md), one test per rule.

No database: PaperIndex works on (id, title, abstract) tuples.
"""
from __future__ import annotations

import pytest

from papers.search import MAX_KEYWORD_LENGTH, KeywordError, PaperIndex, normalize_keyword


def ids(keyword: str, *texts: str | tuple[str, str]) -> list[int]:
    """Which of the given papers (a title, or a (title, abstract) pair) the keyword matches,
    by the word layer alone (the rules here); expansions are tested in test_topics.py."""
    papers = [(n, *(t if isinstance(t, tuple) else (t, ""))) for n, t in enumerate(texts, start=1)]
    return sorted(m.paper_id for m in PaperIndex.build(papers).match(keyword, expand=False))


SPELLINGS = ["pretraining", "Pretraining", "pre-training", "Pre-Training", "pre training", "PRE-TRAINING"]


@pytest.mark.parametrize("keyword", SPELLINGS)
def test_it_ignores_case_hyphens_and_spacing(keyword):
    texts = [f"Efficient {s} of language models" for s in SPELLINGS]
    assert ids(keyword, *texts, "Efficient training of language models") == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "keyword, text",
    [
        ("autoregressive", "an auto-regressive decoder"),
        ("auto-regressive", "Autoregressive decoding"),
        ("few-shot", "few shot prompting"),
        ("few shot", "Few-Shot Learners"),
        ("fewshot", "strong few-shot results"),
        ("few-shot", "a fewshot benchmark"),
        ("fine-tuning", "finetuning is cheap"),
        ("dataset", "a new data set for retrieval"),
        ("data set", "a new dataset for retrieval"),
        ("multimodal", "multi-modal pretraining"),
        ("non-autoregressive", "non autoregressive translation"),
    ],
)
def test_it_joins_open_hyphenated_and_closed_compounds_both_ways(keyword, text):
    assert ids(keyword, text) == [1]


def test_it_gives_one_normalized_form_for_every_spelling():
    assert {normalize_keyword(s) for s in SPELLINGS} == {"pretraining"}
    assert normalize_keyword("auto-regressive") == normalize_keyword("Autoregressive") == "autoregressive"
    assert normalize_keyword("Few-Shot") == normalize_keyword("few shot") == "few shot"
    assert normalize_keyword('  "graph neural network" ') == "graph neural network"
    assert normalize_keyword("“Graph Neural Network”") == "graph neural network"


@pytest.mark.parametrize(
    "keyword, texts",
    [
        ("pretraining", ["pre-trained models", "we pretrain a model", "Pretraining", "continual pre-trains"]),
        ("pre-trained", ["pretraining objectives", "Pre-Train Graph Neural Networks"]),
        ("retrieval", ["we retrieve passages", "retrieving documents", "dense retrievers", "Retrieval"]),
        ("retrieve", ["ad-hoc retrieval"]),
        ("graph neural network", ["graph neural networks", "Graph Neural Networks (GNNs)"]),
        ("transformer", ["Vision Transformers", "Transformer-based encoders"]),
        ("few-shot learning", ["Language Models are Few-Shot Learners"]),
        ("object detection", ["compact object detectors", "Object Detection"]),
        ("speech recognition", ["a downstream speech recognizer"]),
        ("masked autoencoder", ["masked auto-encoders", "a masked auto-encoding objective"]),
        ("diffusion model", ["latent diffusion models"]),
    ],
)
def test_it_matches_word_forms(keyword, texts):
    assert ids(keyword, *texts) == list(range(1, len(texts) + 1))


@pytest.mark.parametrize(
    "keyword, text",
    [
        ("transformer", "we learn feature transformations"),
        ("transformer", "a Fourier transform of the signal"),
        ("tokenizer", "each token is embedded"),
        ("optimizer", "the optimal policy"),
        ("adapter", "domain adaptation"),
        ("reinforcement learning", "reinforcement of concrete, learning from data"),
        ("contrastive learning", "In contrast, learning to rank"),
        ("pretraining", "pretty trains"),
        ("autoregressive", "a regression loss"),
    ],
)
def test_it_keeps_different_words_apart(keyword, text):
    assert ids(keyword, text) == []


def test_it_matches_multi_word_keywords_only_as_a_phrase():
    texts = [
        "Graph Neural Networks (GNNs) for molecules",
        "We train a neural network on a graph of atoms",
        "graph-based neural networks",
        "A Graph-Neural-Network baseline",
    ]
    assert ids("graph neural network", *texts) == [1, 4]
    assert ids('"graph neural network"', *texts) == [1, 4]


def test_it_does_not_run_a_phrase_across_punctuation_or_fields():
    assert ids("graph neural network", "We build a graph. Neural networks then read it") == []
    assert ids("graph neural network", "nodes of the graph, neural network layers") == []
    assert ids("graph neural network", ("Learning on a graph", "Neural networks are used")) == []
    # ...but a version number is one thing: "GPT-3.5" is GPT, 3, 5.
    assert ids("GPT-3.5", "we compare GPT-3.5 and GPT-4") == [1]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("BERT-based retrieval", [1]),
        ("we fine-tune BERTs", [1]),
        ("BERT's attention heads", [1]),
        ("bert2BERT: reusing models", [1]),
        ("BERT_BASE and BERT_LARGE", [1]),
        ("RoBERTa outperforms XLNet", []),
        ("multilingual mBERT", []),
        ("DeBERTa and TinyBERT", []),
        ("Albert and Bert went home", []),
    ],
)
def test_it_matches_short_acronyms_as_whole_tokens(text, expected):
    assert ids("BERT", text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("GPT-3 is a few-shot learner", [1]),
        ("GPT-4 passes exams", [1]),
        ("GPT3 with fewer parameters", [1]),
        ("GPT-4V and GPTs", [1]),
        ("ChatGPT as an annotator", []),
        ("MiniGPT-4 aligns a visual encoder", []),
        ("mGPT goes multilingual", []),
    ],
)
def test_it_matches_gpt_with_versions_but_not_inside_names(text, expected):
    assert ids("GPT", text) == expected
    assert ids("GPTs", text) == expected


def test_it_treats_mixed_case_keywords_as_names():
    texts = ["LoRA adapters", "LORA IS ALL YOU NEED", "the flora of lora", "QLoRA"]
    assert ids("LoRA", *texts) == [1, 2]
    assert ids("RoBERTa", "RoBERTa-large", "BERT") == [1]
    assert ids("mBERT", "mBERT and XLM-R", "BERT") == [1]


def test_it_treats_caps_lock_as_words_not_acronyms():
    assert normalize_keyword("GRAPH NEURAL NETWORK") == "graph neural network"
    assert ids("GRAPH NEURAL NETWORK", "graph neural networks") == [1]


def test_it_matches_a_lowercase_acronym_as_a_word():
    assert ids("bert", "BERTs", "bert", "RoBERTa") == [1, 2]


def test_it_matches_acronyms_inside_phrases():
    texts = ["BERT pre-training at scale", "pre-training BERT", "RoBERTa pretraining"]
    assert ids("BERT pretraining", *texts) == [1]


def test_it_folds_accents():
    assert ids("naive bayes", "a naïve Bayes baseline") == [1]
    assert ids("naïve", "naive methods") == [1]


def test_it_scores_title_hits_above_abstract_hits_and_more_hits_above_fewer():
    index = PaperIndex.build(
        [
            (1, "Retrieval at scale", "Nothing else."),
            (2, "Something", "Retrieval. We retrieve. Retrieving again, retrieval."),
            (3, "Something", "One retrieval."),
            (4, "Retrieval for retrieval", "and retrieval"),
        ]
    )
    matches = index.match("retrieval")
    assert [m.paper_id for m in matches] == [4, 1, 2, 3]
    assert matches[0].score > matches[1].score > matches[2].score > matches[3].score > 0


def test_it_reports_the_exact_text_it_matched():
    index = PaperIndex.build([(7, "Pre-Training GNNs", "We pre-train graph models; pretraining helps. Pre-Training!")])
    (match,) = index.match("pretraining")
    assert match.paper_id == 7
    assert match.terms == ("Pre-Training", "pre-train", "pretraining")


def test_it_keys_match_many_by_the_keyword_as_given():
    index = PaperIndex.build([(1, "Pre-training BERT", ""), (2, "Graph retrieval", "")])
    found = index.match_many(["Pre-Training", "pretraining", "retrieval", "RoBERTa", "!!!"])
    assert {k: [m.paper_id for m in v] for k, v in found.items()} == {
        "Pre-Training": [1],
        "pretraining": [1],
        "retrieval": [2],
        "RoBERTa": [],
        "!!!": [],
    }


@pytest.mark.parametrize("keyword", ["", "   ", "!!!", "--", '""', "x" * (MAX_KEYWORD_LENGTH + 1)])
def test_it_refuses_keywords_it_cannot_match(keyword):
    index = PaperIndex.build([(1, "Anything at all", "")])
    with pytest.raises(KeywordError):
        index.match(keyword)


def test_it_normalizes_nothing_to_the_empty_string():
    assert normalize_keyword("") == normalize_keyword("  ") == normalize_keyword("?!") == ""


def test_it_indexes_titles_or_abstracts_that_are_missing():
    index = PaperIndex.build([(1, "", ""), (2, None, "retrieval"), (3, "retrieval", None)])
    assert sorted(m.paper_id for m in index.match("retrieval")) == [2, 3]
    assert len(index) == 3
