"""`manage.py match_papers "KEYWORD" [--json]`: what a person at the terminal sees."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("match_papers", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def papers():
    return {
        "gnn": PaperFactory(arxiv_id="2301.00001", title="When to Pre-Train Graph Neural Networks?"),
        "bert": PaperFactory(arxiv_id="2301.00002", title="BERT-based retrieval", abstract="We use BERTs."),
        "roberta": PaperFactory(arxiv_id="2301.00003", title="RoBERTa for mBERT users"),
        "hidden": PaperFactory(arxiv_id="2301.00004", title="Hidden BERT paper", is_hidden=True),
        "untitled": PaperFactory(arxiv_id="2301.00005", title="", abstract="Graph neural networks, again."),
    }


def test_it_prints_the_matching_papers_and_a_summary(papers):
    out = run("graph neural network")
    lines = out.strip().splitlines()
    assert "2301.00001" in lines[0] and "When to Pre-Train Graph Neural Networks?" in lines[0]
    assert "2301.00005" in lines[1] and "(no title)" in lines[1]
    assert lines[-1] == "2 papers match 'graph neural network'."


def test_it_prints_json_with_id_arxiv_id_title_score_and_terms(papers):
    rows = json.loads(run("BERT", "--json"))
    # The paper that writes "BERT" first; RoBERTa and mBERT are BERT's family (the glossary).
    assert [r["arxiv_id"] for r in rows] == ["2301.00002", "2301.00003"]
    row = rows[0]
    assert row["id"] == papers["bert"].id
    assert row["title"] == "BERT-based retrieval"
    assert row["score"] > 0
    assert row["terms"] == ["BERT", "BERTs"]
    assert row["via"] == [""]  # the keyword as typed
    assert rows[1]["via"] == ["RoBERTa", "mBERT"]  # BERT's family, from the glossary


def test_it_prints_an_empty_json_list_when_nothing_matches(papers):
    assert json.loads(run("reinforcement learning", "--json")) == []
    assert run("reinforcement learning").strip() == "0 papers match 'reinforcement learning'."


def test_it_limits_the_output_when_asked(papers):
    out = run("graph neural network", "--limit", "1")
    assert "2301.00001" in out and "2301.00005" not in out
    assert out.strip().splitlines()[-1] == "2 papers match 'graph neural network', showing 1."


@pytest.mark.parametrize(
    "keyword, message",
    [
        ("", "at least one letter or digit"),
        ("  ?! ", "at least one letter or digit"),
        ("x" * 101, "101 characters long; at most 100"),
    ],
)
def test_it_exits_non_zero_with_a_clear_message_on_a_bad_keyword(keyword, message):
    with pytest.raises(CommandError) as info:
        run(keyword)
    assert message in str(info.value)
    assert str(info.value).startswith("match_papers: ")


def test_it_exits_with_status_1_from_the_shell(papers, capsys):
    with pytest.raises(SystemExit) as info:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "match_papers", ""]).execute()
    assert info.value.code == 1
    assert "at least one letter or digit" in capsys.readouterr().err
