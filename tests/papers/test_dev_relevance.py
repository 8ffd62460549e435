"""Relevance on the judged development set, in CI, with a floor (issue 9).

tests/data/eval/judged_dev.json (a copy of ../shared/eval, described in its README.md):
92 papers from the seed pages and 24 keywords, every paper judged by a person for every
keyword. The papers go in through `import_papers` (so acronyms are mined as in
production) and each keyword through `match_papers --json`, exactly as
../shared/eval/score.py does it, in-process. Figures are in docs/matching.md.
"""
from __future__ import annotations

import json
import re
import unicodedata
from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import DATA

pytestmark = pytest.mark.django_db

JUDGED = json.loads((DATA / "eval" / "judged_dev.json").read_text(encoding="utf-8"))
MEAN_F1_FLOOR = 0.85
MACRO_PRECISION_FLOOR = 0.85
KEYWORD_F1_FLOOR = 0.6


def title_key(title: str) -> str:
    """score.py's normalization: lower case, accents and punctuation dropped."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


@pytest.fixture
def judged_papers(tmp_path):
    feed = tmp_path / "judged_dev_papers.json"
    items = [
        {"paper": {"title": p["title"], "summary": p["abstract"]}, "title": p["title"], "summary": p["abstract"],
         "publishedAt": "2024-03-11T00:00:00.000Z"}
        for p in JUDGED["papers"]
    ]
    feed.write_text(json.dumps(items), encoding="utf-8")
    call_command("import_papers", str(feed), "--format", "hf-json", stdout=StringIO())


def scores() -> dict[str, tuple[float, float, float]]:
    out = {}
    for keyword, titles in JUDGED["labels"].items():
        printed = StringIO()
        call_command("match_papers", keyword, "--json", stdout=printed)
        found = {title_key(m["title"]) for m in json.loads(printed.getvalue())}
        relevant = {title_key(t) for t in titles}
        hits = len(found & relevant)
        p = hits / len(found) if found else 0.0
        r = hits / len(relevant)
        out[keyword] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return out


def test_it_meets_the_relevance_floor_on_the_judged_development_set(judged_papers):
    per_keyword = scores()
    mean_f1 = sum(f for _, _, f in per_keyword.values()) / len(per_keyword)
    macro_p = sum(p for p, _, _ in per_keyword.values()) / len(per_keyword)
    table = "\n".join(f"{k:<24} P={p:.2f} R={r:.2f} F1={f:.2f}" for k, (p, r, f) in per_keyword.items())
    assert mean_f1 >= MEAN_F1_FLOOR, table
    assert macro_p >= MACRO_PRECISION_FLOOR, table
    weakest = min(per_keyword, key=lambda k: per_keyword[k][2])
    assert per_keyword[weakest][2] >= KEYWORD_F1_FLOOR, table
