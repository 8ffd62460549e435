"""The HF papers page, spacious and compact: titles split from abstracts exactly."""
from __future__ import annotations

import datetime as dt

import pytest

from papers.parsers import ParseError, detect_format, hf_page, page_date
from tests.conftest import DATA

SPACIOUS_000 = "000_71420c1742ba6798.txt"
COMPACT_001 = "001_4e8138185ed46c40.head.txt"
SPACIOUS_002 = "002_bd886f24c340b808.txt"


def _read(seeds_dir, name):
    return (seeds_dir / name).read_text(encoding="utf-8")


def test_it_reads_every_title_and_abstract_of_the_spacious_pages(seeds_dir):
    for name, count in ((SPACIOUS_000, 9), (SPACIOUS_002, 67)):
        text = _read(seeds_dir, name)
        body = [line for line in text.splitlines()[10:] if line.strip()]
        papers = list(hf_page.parse(text))
        assert len(papers) == count
        # Title, abstract, title, abstract...: each pair exactly as on the page.
        assert [p.title for p in papers] == body[0::2]
        assert [p.abstract for p in papers] == body[1::2]
        assert [p.rank for p in papers] == list(range(1, count + 1))
        assert all(p.arxiv_id is None for p in papers)


def test_it_keeps_a_title_with_two_sentences_as_a_title(seeds_dir):
    papers = list(hf_page.parse(_read(seeds_dir, SPACIOUS_002)))
    gnn = papers[5]
    assert gnn.title == "When to Pre-Train Graph Neural Networks? From Data Generation Perspective!"
    assert gnn.abstract.startswith("In recent years, graph pre-training has gained significant attention")
    assert gnn.line == 31
    assert papers[4].title == "Pre-Trained Models: Past, Present and Future"
    assert papers[4].abstract.startswith("Large-scale pre-trained models (PTMs) such as BERT and GPT")


def test_it_reads_the_first_and_last_papers_of_the_spacious_page(seeds_dir):
    papers = list(hf_page.parse(_read(seeds_dir, SPACIOUS_000)))
    first, last = papers[0], papers[-1]
    assert first.title == (
        "ERNIE 3.0: Large-scale Knowledge Enhanced Pre-training for Language Understanding and Generation")
    assert first.abstract.startswith("Pre-trained models have achieved state-of-the-art results")
    assert first.abstract.endswith("surpassing the human performance by +0.8% (90.6% vs. 89.8%).")
    assert first.line == 11
    assert last.title == "ALIP: Adaptive Language-Image Pre-training with Synthetic Caption"
    assert last.abstract.endswith("the code and pre-trained models are released at https://github.com/deepglint/ALIP.")


def test_it_unglues_the_first_title_of_the_compact_page_and_keeps_the_cut_off_last_one(seeds_dir):
    papers = list(hf_page.parse(_read(seeds_dir, COMPACT_001)))
    assert len(papers) == 20
    assert papers[0].title == "Exploring the Limits of Weakly Supervised Pretraining"
    assert papers[0].abstract.startswith("State-of-the-art visual perception models for a wide range of tasks")
    assert papers[0].line == 3
    assert papers[1].title == "FPDM: Domain-Specific Fast Pre-training Technique using Document-Level Metadata"
    assert papers[7].title == (
        "MASTER: Multi-task Pre-trained Bottlenecked Masked Autoencoders are Better Dense Retrievers")
    assert papers[7].line == 17
    assert papers[7].abstract.startswith("Pre-trained Transformers (\\eg BERT) have been commonly used")
    last = papers[-1]
    assert last.title == (
        "Future Token Prediction -- Causal Language Modelling with Per-Token Semantic State Vector "
        "for Multi-Token Prediction"
    )
    assert last.abstract == ""
    assert last.line == 41
    assert not any("Subscribe" in p.title or "inbox" in p.title for p in papers)
    # Every other line from the glued one on: title, abstract, title, ...
    lines = _read(seeds_dir, COMPACT_001).splitlines()[2:]
    lines[0] = lines[0].removeprefix("Subscribe")
    assert [p.title for p in papers] == lines[0::2]
    assert [p.abstract for p in papers] == lines[1::2] + [""]


def test_it_reads_the_page_date_as_the_latest_such_day_not_in_the_future(seeds_dir, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC))
    assert page_date(_read(seeds_dir, SPACIOUS_000)) == dt.date(2026, 3, 11)
    assert page_date(_read(seeds_dir, SPACIOUS_002)) == dt.date(2026, 3, 12)
    assert page_date(_read(seeds_dir, COMPACT_001)) is None
    time_machine.move_to(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC))
    assert page_date(_read(seeds_dir, SPACIOUS_000)) == dt.date(2025, 3, 11)
    time_machine.move_to(dt.datetime(2026, 3, 11, 0, 5, tzinfo=dt.UTC))
    assert page_date(_read(seeds_dir, SPACIOUS_000)) == dt.date(2026, 3, 11)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Feb 29", dt.date(2024, 2, 29)),
        ("March 11, 2023", dt.date(2023, 3, 11)),
        ("2024-03-11", dt.date(2024, 3, 11)),
        ("Dec 31", dt.date(2025, 12, 31)),
    ],
)
def test_it_understands_the_date_forms_a_page_may_use(line, expected):
    text = f"Get trending papers in your email inbox!\n\n{line}\n\nA Title\n\n{'Some sentence here. ' * 20}\n"
    assert page_date(text, today=dt.date(2026, 1, 15)) == expected


def test_it_reads_our_own_spacious_page_with_a_title_that_lost_its_abstract():
    text = (DATA / "papers" / "hf_page_spacious.txt").read_text()
    assert detect_format(text) == "hf-page"
    papers = list(hf_page.parse(text))
    assert [p.title for p in papers] == [
        "When to Pre-Train Graph Neural Networks? From Data Generation Perspective!",
        "A Paper Whose Abstract the Page Lost",
        "Superposed Decoding: Multiple Generations from a Single Autoregressive Inference Pass",
    ]
    assert papers[1].abstract == ""
    assert papers[2].abstract.startswith("Many applications today provide users with multiple auto-complete drafts")
    assert [p.line for p in papers] == [11, 15, 17]


def test_it_reads_our_own_compact_page():
    text = (DATA / "papers" / "hf_page_compact.txt").read_text()
    papers = list(hf_page.parse(text))
    assert [p.title for p in papers] == [
        "MPNet: Masked and Permuted Pre-training for Language Understanding",
        "Discrete Key-Value Bottleneck",
        "Future Token Prediction -- Causal Language Modelling with Per-Token Semantic State Vector "
        "for Multi-Token Prediction",
    ]
    assert papers[1].abstract.startswith("Deep neural networks perform well")
    assert papers[2].abstract == ""


def test_it_joins_a_paragraph_wrapped_over_several_lines():
    abstract = "We wrap this abstract. " * 10
    text = ("Get trending papers in your email inbox!\n\nMar 11\n\nA Wrapped Title\n\n"
            + abstract[:100] + "\n" + abstract[100:] + "\n\nSecond Title\n\n" + abstract + "\n")
    papers = list(hf_page.parse(text))
    assert [p.title for p in papers] == ["A Wrapped Title", "Second Title"]
    assert papers[0].abstract == " ".join(abstract.split())


def test_it_refuses_an_abstract_before_any_title():
    text = "Get trending papers in your email inbox!\n\n" + "This is a sentence of an abstract. " * 12 + "\n"
    with pytest.raises(ParseError) as caught:
        list(hf_page.parse(text))
    assert caught.value.line == 3
    assert "abstract before any title" in caught.value.message


@pytest.mark.parametrize("title",
                         ["reStructured Pre-training", "mGPT: Few-Shot Learners Go Multilingual", "Subscriber Churn"])
def test_it_unglues_a_first_title_whatever_its_first_letter(title):
    abstract = "This abstract has several sentences. " * 10
    compact = f"Get trending papers in your email inbox!\nSubscribe{title}\n{abstract}\n"
    assert [p.title for p in hf_page.parse(compact)] == [title]
    # When "Subscribe" stands on its own line, a title that starts with it is left whole.
    spacious = f"Get trending papers in your email inbox!\n\nSubscribe\n\nMar 11\n\n{title}\n\n{abstract}\n"
    assert [p.title for p in hf_page.parse(spacious)] == [title]
