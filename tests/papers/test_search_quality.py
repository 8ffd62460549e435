"""Precision and recall of the matcher on a hand-labelled set (tests/data/matching/).

43 papers copied from the shared seed pages plus 11 hard cases written for this
suite, labelled by hand for 15 keywords before the matcher existed; the labelling
guideline and the judgement calls are in labels.json. Figures go to docs/matching.md.

The guideline is literal (the keyword named as a phrase, in any spelling), so this
measures the word layer: `match(keyword, expand=False)`. The topic layer (glossary,
acronyms, salience) is measured on the judged development set (test_dev_relevance.py).
"""
from __future__ import annotations

import json
from functools import lru_cache

import pytest

from papers.search import PaperIndex
from tests.conftest import DATA

FIXTURES = DATA / "matching"


def load():
    papers = json.loads((FIXTURES / "papers.json").read_text(encoding="utf-8"))
    labels = json.loads((FIXTURES / "labels.json").read_text(encoding="utf-8"))["keywords"]
    return papers, labels


@lru_cache(maxsize=1)
def index_of(papers_json: str) -> tuple[PaperIndex, dict[int, str]]:
    papers = json.loads(papers_json)
    index = PaperIndex.build((n, p["title"], p["abstract"]) for n, p in enumerate(papers, start=1))
    return index, {n: p["id"] for n, p in enumerate(papers, start=1)}


def evaluate(papers, labels):
    """Per keyword (true positives, false positives, false negatives) as sets of fixture ids."""
    index, name = index_of(json.dumps(papers))
    results = {}
    for keyword, expected in labels.items():
        got = {name[m.paper_id] for m in index.match(keyword, expand=False)}
        want = set(expected)
        results[keyword] = (got & want, got - want, want - got)
    return results


def test_it_labels_only_papers_that_exist():
    papers, labels = load()
    ids = [p["id"] for p in papers]
    assert len(ids) == len(set(ids)) >= 40
    assert len(labels) >= 15
    for keyword, expected in labels.items():
        assert set(expected) <= set(ids), keyword
        assert expected, f"{keyword} has no relevant paper: recall would be meaningless"


def test_it_reaches_097_precision_and_recall_overall():
    results = evaluate(*load())
    tp = sum(len(r[0]) for r in results.values())
    fp = sum(len(r[1]) for r in results.values())
    fn = sum(len(r[2]) for r in results.values())
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    report = "\n".join(
        f"{k}: false positives {sorted(r[1])}, missed {sorted(r[2])}" for k, r in results.items() if r[1] or r[2]
    )
    assert precision >= 0.97, f"precision {precision:.3f}\n{report}"
    assert recall >= 0.97, f"recall {recall:.3f}\n{report}"


@pytest.mark.parametrize("keyword", list(load()[1]))
def test_it_gets_each_keyword_mostly_right(keyword):
    """No single keyword may be carried by the others: at most one mistake each."""
    tp, fp, fn = evaluate(*load())[keyword]
    assert len(fp) + len(fn) <= 1, f"{keyword}: false positives {sorted(fp)}, missed {sorted(fn)}"


VARIANTS = {
    "pretraining": ["pre-training", "Pre-Training", "pre training", "pre-trained", "pretrain", "PRETRAINING"],
    "retrieval": ["retrieve", "retrieving", "Retrieval"],
    "graph neural network": ["graph neural networks", "Graph-Neural-Network", '"graph neural network"'],
    "BERT": ["BERTs"],
    "GPT": ["GPTs"],
    "few-shot": ["few shot", "Few-Shot", "fewshot"],
    "autoregressive": ["auto-regressive", "Auto-Regressive", "auto regressive"],
    "diffusion": ["diffusions", "Diffusion"],
    "transformer": ["transformers", "Transformer"],
    "reinforcement learning": ["reinforcement-learning", "Reinforcement Learning"],
    "knowledge distillation": ["knowledge-distillation", "Knowledge Distillation"],
    "object detection": ["object detectors", "object-detection"],
    "masked autoencoder": ["masked autoencoders", "masked auto-encoder", "Masked Auto-Encoders"],
}


@pytest.mark.parametrize("keyword", list(VARIANTS))
def test_it_finds_the_same_papers_for_every_spelling_of_a_keyword(keyword):
    papers, labels = load()
    for variant in VARIANTS[keyword]:
        tp, fp, fn = evaluate(papers, {variant: labels[keyword]})[variant]
        assert not fp and not fn, f"{variant!r}: false positives {sorted(fp)}, missed {sorted(fn)}"
