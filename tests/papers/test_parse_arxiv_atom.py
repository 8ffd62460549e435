"""arXiv export API responses (Atom XML), read with feedparser."""
from __future__ import annotations

import datetime as dt

import pytest

from papers.parsers import ParseError, arxiv_atom, detect_format
from tests.conftest import DATA

ATOM = (DATA / "papers" / "arxiv_api.atom.xml").read_text()


def test_it_reads_every_field_of_an_entry():
    assert detect_format(ATOM) == "arxiv-atom"
    papers = list(arxiv_atom.parse(ATOM))
    assert [p.arxiv_id for p in papers] == ["2202.03052", "2105.15082", "2107.02137", "hep-th/9901001"]
    ofa = papers[0]
    assert ofa.title == ("OFA: Unifying Architectures, Tasks, and Modalities Through a Simple "
                         "Sequence-to-Sequence Learning Framework")
    assert ofa.abstract.startswith("In this work, we pursue a unified paradigm for multimodal pretraining to break")
    assert "\n" not in ofa.abstract
    assert ofa.authors == ("Peng Wang", "An Yang", "Rui Men", "Junyang Lin")
    assert ofa.comments == "23 pages, 11 figures"
    assert ofa.categories == ("cs.CV", "cs.CL")
    assert ofa.published_on == dt.date(2022, 2, 7)
    assert ofa.rank == 1
    assert ofa.line == 10
    assert papers[1].categories == ("cs.LG", "cs.CL")
    assert papers[2].comments == ""


def test_it_refuses_a_cut_off_response_naming_the_line():
    with pytest.raises(ParseError) as caught:
        list(arxiv_atom.parse(ATOM[: ATOM.index("<entry>", 2000)]))
    assert caught.value.line > 30
    assert "broken XML" in caught.value.message


def test_it_reports_an_api_error_entry():
    text = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>ArXiv Query</title><id>http://arxiv.org/api/x</id><updated>2024-03-12T00:00:00-05:00</updated>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.1234v</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.1234v</summary>
    <updated>2024-03-12T00:00:00-05:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>"""
    with pytest.raises(ParseError) as caught:
        list(arxiv_atom.parse(text))
    assert caught.value.line == 4
    assert caught.value.message == "arXiv API error: incorrect id format for 1234.1234v"


def test_it_accepts_a_response_with_no_entries():
    text = '<feed xmlns="http://www.w3.org/2005/Atom"><title>ArXiv Query</title></feed>'
    assert list(arxiv_atom.parse(text)) == []


def test_it_refuses_rss_and_entries_without_an_arxiv_id():
    with pytest.raises(ParseError, match="not an Atom feed"):
        list(arxiv_atom.parse('<rss version="2.0"><channel><title>x</title></channel></rss>'))
    text = '<feed xmlns="http://www.w3.org/2005/Atom">\n<entry><id>urn:x:1</id><title>T</title></entry></feed>'
    with pytest.raises(ParseError) as caught:
        list(arxiv_atom.parse(text))
    assert caught.value.line == 2
    assert "not an arXiv id" in caught.value.message


def test_it_never_reads_a_path_or_url_given_as_text(tmp_path):
    secret = tmp_path / "feed.xml"
    secret.write_text(ATOM)
    # feedparser opens paths and fetches URLs it is handed as strings; we must not.
    for text in (str(secret), "http://127.0.0.1:9/feed.xml"):
        with pytest.raises(ParseError):
            list(arxiv_atom.parse(text))
