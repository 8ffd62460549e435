"""Format detection and the identity helpers every parser and the importer share."""
from __future__ import annotations

import pytest

from papers.parsers import FORMATS, ParseError, detect_format, normalize_arxiv_id, parse, title_key
from tests.conftest import DATA


def test_it_detects_every_seed_page(seeds_dir):
    detected = {p.name: detect_format(p.read_text()) for p in sorted(seeds_dir.iterdir())}
    assert detected == {
        "000_71420c1742ba6798.txt": "hf-page",
        "001_4e8138185ed46c40.head.txt": "hf-page",
        "002_bd886f24c340b808.txt": "hf-page",
        "004_ceb2f5184dfc3aaf.head.txt": "arxiv-listing",
    }


def test_it_detects_our_own_files():
    detected = {p.name: detect_format(p.read_text()) for p in sorted((DATA / "papers").iterdir())}
    assert detected == {
        "arxiv_api.atom.xml": "arxiv-atom",
        "arxiv_listing.txt": "arxiv-listing",
        "daily_papers.json": "hf-json",
        "hf_page_compact.txt": "hf-page",
        "hf_page_spacious.txt": "hf-page",
    }
    assert set(detected.values()) == set(FORMATS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("  \n\n ", "empty file"),
        ("Just some notes I took.\nNothing to see.\n", "unrecognized format"),
        ("<html><body>hi</body></html>", "not an Atom feed"),
    ],
)
def test_it_refuses_what_it_does_not_recognize(text, message):
    with pytest.raises(ParseError) as caught:
        detect_format(text)
    assert caught.value.line == 1
    assert message in caught.value.message


def test_it_parses_with_a_forced_format():
    text = (DATA / "papers" / "hf_page_compact.txt").read_text()
    assert [p.title for p in parse(text, "hf-page")][0].startswith("MPNet")
    with pytest.raises(ParseError):
        list(parse(text, "hf-json"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2202.03052", "2202.03052"),
        ("arXiv:2202.03052v2", "2202.03052"),
        ("http://arxiv.org/abs/2202.03052v12", "2202.03052"),
        ("https://arxiv.org/pdf/2202.03052v1.pdf", "2202.03052"),
        ("1412.6980", "1412.6980"),
        ("hep-th/9901001v1", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("not an id", None),
        ("2202.0305", None),
        ("", None),
        (None, None),
    ],
)
def test_it_normalizes_arxiv_ids(raw, expected):
    assert normalize_arxiv_id(raw) == expected


def test_it_gives_titles_that_differ_only_in_case_punctuation_or_accents_one_key():
    key = title_key("Language Models are Few-Shot Learners")
    assert key == "language models are few shot learners"
    assert title_key("  Language models ARE few shot learners. ") == key
    assert title_key("Language\n  Models are Few–Shot Learners!") == key
    assert title_key("Państwowy Egzamin") == title_key("Panstwowy egzamin")
    assert title_key("Language Models are Many-Shot Learners") != key
    assert len(title_key("word " * 200)) == 255
