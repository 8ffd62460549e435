"""The Hugging Face daily_papers API response (JSON)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from papers.parsers import ParseError, detect_format, hf_json
from tests.conftest import DATA

DAILY = (DATA / "papers" / "daily_papers.json").read_text()


def test_it_reads_every_field_of_an_item():
    assert detect_format(DAILY) == "hf-json"
    papers = list(hf_json.parse(DAILY))
    assert [p.arxiv_id for p in papers] == ["2107.02137", "2202.03052", "2005.14165", "2206.01958"]
    ernie, ofa, gpt3, ipt = papers
    assert ernie.title == (
        "ERNIE 3.0: Large-scale Knowledge Enhanced Pre-training for Language Understanding and Generation")
    assert ernie.abstract.startswith("Pre-trained models have achieved state-of-the-art results")
    assert ernie.authors[:2] == ("Yu Sun", "Shuohuan Wang")
    assert ernie.upvotes == 42
    assert ernie.github_url == "https://github.com/PaddlePaddle/ERNIE"
    assert ernie.github_stars == 6201
    assert ernie.published_on == dt.date(2021, 7, 5)
    assert ernie.listed_on == dt.date(2024, 3, 11)
    assert ernie.line == 2
    assert ofa.arxiv_id == "2202.03052"  # "2202.03052v2" in the file: the version goes
    assert gpt3.github_url == "" and gpt3.github_stars is None
    # Ranks count within each listing date.
    assert [(p.listed_on.day, p.rank) for p in papers] == [(11, 1), (11, 2), (12, 1), (12, 2)]
    assert ipt.line > gpt3.line > ofa.line > ernie.line


def test_it_names_the_line_of_a_bad_item():
    items = json.loads(DAILY)
    items[2]["paper"]["upvotes"] = "many"
    text = json.dumps(items, indent=2)
    item_lines = [number for number, line in enumerate(text.splitlines(), start=1) if line == "  {"]
    with pytest.raises(ParseError) as caught:
        list(hf_json.parse(text))
    assert caught.value.line == item_lines[2]  # the third item's opening brace
    assert caught.value.message == "paper.upvotes should be a whole number, found 'many'"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[\n{"paper": {"id": "2202.03052", "title": "T"}},\n{"paper": {"id": "22', 3, "is the file cut off?"),
        ('[{"paper": {"id": "2202.03052", "title": "T"}}', 1, "the list ends without ']'"),
        ('{"papers": []}', 1, "expected a JSON list"),
        ('[1]', 1, "each item should be an object"),
        ('[\n {"paper": {"id": "not-an-id", "title": "T"}}]', 2, "is not an arXiv id"),
        ('[\n {"paper": {}, "numComments": 1}]', 2, "neither paper.id nor a title"),
        ('[{"paper": {"id": "2202.03052"}, "publishedAt": "yesterday"}]', 1, "is not an ISO date"),
        ('[] []', 1, "extra data"),
        ('[{"paper": {"id": "2202.03052"}},]', 1, "invalid JSON"),
    ],
)
def test_it_refuses_broken_json_with_a_line(text, line, message):
    with pytest.raises(ParseError) as caught:
        list(hf_json.parse(text))
    assert caught.value.line == line
    assert message in caught.value.message


def test_it_takes_the_item_title_when_the_paper_has_none_and_accepts_an_empty_list():
    papers = list(hf_json.parse('[{"paper": {"id": "2202.03052"}, "title": "From the item", "summary": "S."}]'))
    assert (papers[0].title, papers[0].abstract, papers[0].listed_on) == ("From the item", "S.", None)
    assert list(hf_json.parse("[ ]")) == []
