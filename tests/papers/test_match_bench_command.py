"""`manage.py bench_match`: runs end to end and prints its result line (speed is not asserted)."""
from __future__ import annotations

import random
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from benchmarks.management.commands.bench_match import generate_keywords, generate_papers
from papers.search import normalize_keyword
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

LINE = re.compile(
    r"^bench: match keywords=(\d+) papers=(\d+) build_seconds=[\d.]+ match_seconds=[\d.]+ keywords_per_s=\d+$"
)


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("bench_match", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_it_prints_the_bench_line_last_with_generated_papers():
    lines = run("--keywords", "300", "--papers", "40")
    assert "40 generated papers, 300 distinct keywords" in lines[0]
    assert LINE.match(lines[-1]).groups() == ("300", "40")


def test_it_uses_the_papers_in_the_database_when_there_are_enough():
    PaperFactory.create_batch(5, abstract="Pre-trained graph neural networks for retrieval.")
    lines = run("--keywords", "50", "--papers", "5")
    assert "5 database papers" in lines[0]
    assert LINE.match(lines[-1]).groups() == ("50", "5")


def test_it_generates_distinct_keywords_and_papers_that_match_some_of_them():
    keywords = generate_keywords(2000, random.Random(1))
    assert len({normalize_keyword(k) for k in keywords}) == 2000
    papers = generate_papers(20, random.Random(1))
    assert len({p[0] for p in papers}) == 20 and all(len(p[2].split()) > 100 for p in papers)


def test_it_refuses_nonsense_sizes():
    with pytest.raises(CommandError, match="at least 1"):
        run("--keywords", "0")
