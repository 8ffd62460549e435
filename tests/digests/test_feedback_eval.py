"""Measured, not assumed: simulated readers with hidden interests vote on their digests for
five days; on day six their digest's precision at 5 must beat the keyword-only ranking."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from papers.models import Paper
from subscriptions.models import Subscriber, Vote
from tests.conftest import DATA

JUDGED = DATA / "eval" / "judged_dev.json"  # one copy of ../shared/eval/judged_dev.json, shared with tests/papers

pytestmark = pytest.mark.django_db


def test_votes_beat_keyword_only_ranking_on_day_six(capsys):
    call_command("evaluate_feedback", str(JUDGED), "--json")
    result = json.loads(capsys.readouterr().out)
    assert len(result["readers"]) == 21  # 7 hidden interests x 3 seeds
    assert all(r["votes"] > 0 for r in result["readers"])
    assert result["precision_at_5_with_votes"] > result["precision_at_5_keyword_only"]
    # Everything ran in a transaction that was rolled back.
    assert not Paper.objects.exists() and not Subscriber.objects.exists() and not Vote.objects.exists()


def test_it_names_the_file_and_line_of_a_bad_judged_set(tmp_path):
    bad = tmp_path / "judged.json"
    bad.write_text('{"papers": [\n  {"title": "A"},\n  oops\n]}')
    with pytest.raises(CommandError, match=r"judged.json: line 3: invalid JSON"):
        call_command("evaluate_feedback", str(bad))
    bad.write_text(json.dumps({"papers": [{"title": "A"}], "labels": {"x": ["B"]}}))
    with pytest.raises(CommandError, match=r"labels\['x'\] names a title that is not in 'papers'"):
        call_command("evaluate_feedback", str(bad))
    with pytest.raises(CommandError, match="cannot read it"):
        call_command("evaluate_feedback", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="--seeds must be whole numbers"):
        call_command("evaluate_feedback", str(JUDGED), "--seeds", "one")
