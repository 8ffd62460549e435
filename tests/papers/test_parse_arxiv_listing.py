"""arXiv listings: the arXiv:ID line closes the record ABOVE it."""
from __future__ import annotations

import pytest

from papers.parsers import ParseError, arxiv_listing, detect_format
from tests.conftest import DATA

LISTING_004 = "004_ceb2f5184dfc3aaf.head.txt"


def test_it_gives_each_abstract_the_id_that_closes_it(seeds_dir):
    text = (seeds_dir / LISTING_004).read_text()
    assert detect_format(text) == "arxiv-listing"
    papers = list(arxiv_listing.parse(text))
    assert [p.arxiv_id for p in papers] == ["2206.01958", "2202.03052", "2110.03888", "2105.15082"]
    ipt, ofa, m6_10t, m6_t = papers
    # The first abstract (Instance-wise Prompt Tuning) is closed by arXiv:2206.01958 ...
    assert ipt.abstract.startswith("Prompt Learning has recently gained great popularity")
    assert ipt.abstract.endswith("with only 0.5% - 1.5% of tuned parameters.")
    assert ipt.comments == ""
    # ... and OFA's abstract, glued after that id, is closed by arXiv:2202.03052.
    assert ofa.abstract.startswith("In this work, we pursue a unified paradigm for multimodal pretraining")
    assert "We propose OFA" in ofa.abstract
    assert ofa.abstract.endswith("Code shall be released soon at http://github.com/OFA-Sys/OFA")
    assert ofa.comments == "23 pages, 11 figures"
    assert m6_10t.abstract.startswith("Recent expeditious developments in deep learning algorithms")
    assert "Pseudo-to-Real" in m6_10t.abstract
    assert m6_10t.comments == "14 pages, 4 figures"
    assert m6_t.abstract.startswith("Mixture-of-Experts (MoE) models can achieve promising results")
    assert "$k$ and expert capacity $C$ in top-$k$ routing" in m6_t.abstract
    assert m6_t.comments == "11 pages, 6 figures"
    assert all(p.title == "" for p in papers)
    assert [p.rank for p in papers] == [1, 2, 3, 4]
    assert [p.line for p in papers] == [1, 2, 4, 6]


def test_it_reads_our_own_listing_with_old_ids_and_other_comments():
    papers = list(arxiv_listing.parse((DATA / "papers" / "arxiv_listing.txt").read_text()))
    assert [p.arxiv_id for p in papers] == ["1412.6980", "2301.00001", "2301.00002"]
    assert papers[0].abstract.startswith("We propose Adam")
    # A four-digit-era id keeps four digits; the "3" starts the next abstract.
    assert papers[1].abstract.startswith("3D shape retrieval is a fundamental task")
    assert papers[1].comments == "Accepted to ACL 2023"
    assert papers[2].abstract.endswith("see https://example.org/code")
    assert papers[2].comments == "Code: https://example.org/code"


def test_it_refuses_a_file_cut_off_before_the_last_id(seeds_dir):
    text = (seeds_dir / LISTING_004).read_text()
    cut = text[: text.rindex("arXiv:2105.15082")]
    with pytest.raises(ParseError) as caught:
        list(arxiv_listing.parse(cut))
    assert caught.value.line == 6  # where the unclosed record starts
    assert "not closed by an arXiv:ID" in caught.value.message


def test_it_refuses_text_without_any_id():
    with pytest.raises(ParseError) as caught:
        list(arxiv_listing.parse("\n\n"))
    assert "no arXiv:ID lines" in caught.value.message


def test_it_refuses_an_id_that_cannot_exist():
    with pytest.raises(ParseError) as caught:
        list(arxiv_listing.parse("An abstract.\narXiv:2213.00001\n"))
    assert caught.value.line == 2
    assert caught.value.message == "arXiv:2213.00001 is not a valid arXiv id"
