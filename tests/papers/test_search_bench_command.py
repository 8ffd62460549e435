"""`manage.py bench_search`: runs end to end on a tiny archive and prints its line last (speed is not asserted)."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from papers.models import Paper, SearchEntry
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db(transaction=True)

LINE = re.compile(r"^bench: search papers=300 p50_ms=[\d.]+ p95_ms=[\d.]+ preview_p95_ms=[\d.]+ index_mb=\d+$")


def test_it_prints_the_bench_line_last_and_cleans_up_after_itself():
    own = PaperFactory(title="A paper that is not the benchmark's")
    out = StringIO()

    call_command("bench_search", "--papers", "300", "--queries", "20", stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert LINE.match(lines[-1]), lines[-1]
    assert list(Paper.objects.values_list("id", flat=True)) == [own.id]
    assert list(SearchEntry.objects.values_list("paper_id", flat=True)) == [own.id]


def test_it_refuses_a_nonsense_size():
    with pytest.raises(CommandError, match="--papers"):
        call_command("bench_search", "--papers", "0")
