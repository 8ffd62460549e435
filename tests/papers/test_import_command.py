"""`manage.py import_papers`: a summary per file, clear errors naming file and line, non-zero exit on bad input."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from papers.models import Listing, Paper
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.django_db

OWN = DATA / "papers"


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args, stdout=None):
    out, err = stdout or io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("import_papers", *[str(a) for a in args], stdout=out, stderr=err)
    except CommandError as exc:
        error = str(exc)
    return out.getvalue(), err.getvalue(), error


def test_it_prints_a_summary_per_file_and_a_total(seeds_dir):
    out, err, error = run(*sorted(seeds_dir.iterdir()), OWN / "daily_papers.json")
    assert error is None and err == ""
    assert out.splitlines() == [
        "000_71420c1742ba6798.txt: format=hf-page listed_on=2026-03-11 created=9 updated=0 unchanged=0 skipped=0",
        "001_4e8138185ed46c40.head.txt: format=hf-page listed_on=- created=20 updated=0 unchanged=0 skipped=0 "
        "(no listing date: papers saved but not listed; use --date)",
        "002_bd886f24c340b808.txt: format=hf-page listed_on=2026-03-12 created=63 updated=4 unchanged=0 skipped=0",
        "004_ceb2f5184dfc3aaf.head.txt: format=arxiv-listing listed_on=- created=4 updated=0 unchanged=0 skipped=0 "
        "(no listing date: papers saved but not listed; use --date)",
        # Every JSON paper was already there (from the pages and the listing): all four merged.
        "daily_papers.json: format=hf-json listed_on=2024-03-12 created=0 updated=4 unchanged=0 skipped=0",
        "total (5 files, 0 failed): created=96 updated=8 unchanged=0 skipped=0",
    ]
    out, _, error = run(*sorted(seeds_dir.iterdir()), OWN / "daily_papers.json")
    assert error is None
    assert out.splitlines()[-1] == "total (5 files, 0 failed): created=0 updated=0 unchanged=104 skipped=0"


def test_it_dates_undated_files_and_forces_a_format():
    out, _, error = run(OWN / "hf_page_compact.txt", "--format", "hf-page", "--date", "2026-11-20")
    assert error is None
    assert out.splitlines()[0] == ("hf_page_compact.txt: format=hf-page listed_on=2026-11-20 "
                                   "created=3 updated=0 unchanged=0 skipped=0")
    assert Listing.objects.filter(listed_on=dt.date(2026, 11, 20)).count() == 3


def test_it_refuses_a_malformed_date():
    with pytest.raises(CommandError, match="--date '11/20/2026' is not a date"):
        call_command("import_papers", str(OWN / "arxiv_listing.txt"), "--date", "11/20/2026", stdout=io.StringIO())


def test_it_reports_each_bad_file_by_name_and_line_and_still_imports_the_good_ones(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4)
    unknown = tmp_path / "notes.txt"
    unknown.write_text("Shopping list\nmilk\n")
    truncated = tmp_path / "truncated.json"
    truncated.write_text((OWN / "daily_papers.json").read_text()[:3000])
    cut_listing = tmp_path / "cut.txt"
    cut_listing.write_text((OWN / "arxiv_listing.txt").read_text().replace("arXiv:2301.00002\n", ""))
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # 50 MB, sparse: never read
        handle.truncate(50 * 1024 * 1024)
    missing = tmp_path / "missing.json"

    out, err, error = run(empty, junk, OWN / "arxiv_api.atom.xml", unknown, truncated, cut_listing, huge, missing)
    assert error == "7 of 8 files could not be imported; see the errors above"
    assert err.splitlines() == [
        "error: empty.txt:1: empty file: nothing to import (nothing imported from this file)",
        "error: junk.bin:2: not UTF-8 text (binary data?) at byte 136 (nothing imported from this file)",
        "error: notes.txt:1: unrecognized format: expected a Hugging Face papers page, an arXiv listing, "
        "arXiv Atom XML "
        "or daily_papers JSON (use --format to say which) (nothing imported from this file)",
        "error: truncated.json:48: invalid JSON: Unterminated string starting at (is the file cut off?) "
        "(nothing imported from this file)",
        "error: cut.txt:4: record not closed by an arXiv:ID line (the file looks cut off; every abstract must be "
        "followed by its arXiv:ID) (nothing imported from this file)",
        "error: huge.json:1: file is 50.0 MB, larger than the import limit of 40 MB; split it "
        "(nothing imported from this file)",
        f"error: missing.json:0: no such file ({missing}) (nothing imported from this file)",
    ]
    assert out.splitlines() == [
        "arxiv_api.atom.xml: format=arxiv-atom listed_on=- created=4 updated=0 unchanged=0 skipped=0 "
        "(no listing date: papers saved but not listed; use --date)",
        "total (8 files, 7 failed): created=4 updated=0 unchanged=0 skipped=0",
    ]
    # Only the good file's papers: nothing from the truncated JSON or the cut listing.
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {
        "2202.03052", "2105.15082", "2107.02137", "hep-th/9901001"}


def test_it_writes_nothing_from_a_truncated_file_even_after_good_records(tmp_path):
    items = json.loads((OWN / "daily_papers.json").read_text())
    text = json.dumps(items, indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.rindex('"paper"')])  # three whole items, then the fourth cut off
    _, err, error = run(cut)
    assert error and err.startswith("error: cut.json:")
    assert Paper.objects.count() == 0


def test_it_shows_a_progress_bar_only_on_a_terminal():
    _, err, _ = run(OWN / "arxiv_listing.txt", OWN / "daily_papers.json", stdout=Terminal())
    assert "2/2" in err and "100%" in err
    _, err, _ = run(OWN / "arxiv_listing.txt", OWN / "daily_papers.json")
    assert err == ""


def test_it_exits_non_zero_from_the_shell(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "VAR_DIR": str(tmp_path)}
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO)
    good = subprocess.run([*manage, "import_papers", str(OWN / "arxiv_listing.txt")], env=env, cwd=REPO,
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "arxiv_listing.txt: format=arxiv-listing" in good.stdout
    bad = subprocess.run([*manage, "import_papers", str(OWN / "arxiv_listing.txt"), str(tmp_path / "nope.txt")],
                         env=env, cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "error: nope.txt:0: no such file" in bad.stderr
    assert "CommandError: 1 of 2 files could not be imported" in bad.stderr
    assert "unchanged=3" in bad.stdout
