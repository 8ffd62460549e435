"""Hugging Face's ai_summary and ai_keywords: parsed from daily_papers JSON, stored, filled like other fields."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from papers.models import Paper
from papers.parsers import ParseError
from papers.parsers.hf_json import parse
from tests.conftest import DATA

pytestmark = pytest.mark.django_db

SAMPLE = DATA / "papers" / "daily_papers.json"


def test_it_stores_the_summary_and_keywords_from_the_sample():
    items = json.loads(SAMPLE.read_text())
    call_command("import_papers", str(SAMPLE), "--format", "hf-json")
    first = items[0]["paper"]
    paper = Paper.objects.get(arxiv_id=first["id"])
    assert paper.ai_summary == first["ai_summary"]
    assert paper.ai_keywords == first["ai_keywords"]


def item(**paper):
    return json.dumps([{"paper": {"id": "2401.00001", "title": "T", "summary": "S", **paper},
                        "publishedAt": "2024-03-11T09:00:00.000Z"}])


def test_it_reads_missing_fields_as_empty():
    record = next(parse(item()))
    assert (record.ai_summary, record.ai_keywords) == ("", ())


def test_it_deduplicates_keywords_and_drops_empty_ones():
    record = next(parse(item(ai_keywords=["LoRA", "", "LoRA", " adapters "])))
    assert record.ai_keywords == ("LoRA", "adapters")


@pytest.mark.parametrize("bad", [{"ai_keywords": "LoRA"}, {"ai_keywords": [1]}, {"ai_summary": ["x"]}])
def test_it_names_the_line_of_a_bad_value(bad):
    with pytest.raises(ParseError) as caught:
        next(parse(item(**bad)))
    assert caught.value.line == 1 and "ai_" in caught.value.message
