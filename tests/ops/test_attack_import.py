"""import_papers reads at most its limit (issue 11, item 7), whatever size the file reports.

/dev/zero reports 0 bytes and never ends; /dev/stdin (a pipe here) reports
nothing useful either. Before, both were read whole into memory (9 GB in 9 s).
"""
from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from tests.conftest import REPO

# Generous for Django plus one 40 MB read (and its decode), far below an unbounded read.
MEMORY_CAP = 1024 * 1024 * 1024


def _import(tmp_path, *args: str, stdin=None) -> subprocess.CompletedProcess:
    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run(
        [sys.executable, "manage.py", "import_papers", *args], cwd=REPO, stdin=stdin, capture_output=True,
        text=True, timeout=120, preexec_fn=cap_memory,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )


@pytest.fixture
def migrated(tmp_path):
    # No tables needed: the size limit stops the command before it touches the database.
    return tmp_path


def test_it_refuses_dev_zero_without_reading_it_all(migrated):
    result = _import(migrated, "/dev/zero")
    assert result.returncode != 0
    assert "zero:1: file is larger than the import limit of 40 MB" in result.stderr


def test_it_refuses_an_endless_stdin_past_the_limit(migrated):
    feeder = subprocess.Popen(["yes", "Attention Is All You Need"], stdout=subprocess.PIPE)
    try:
        result = _import(migrated, "/dev/stdin", stdin=feeder.stdout)
    finally:
        feeder.kill()
        feeder.wait()
    assert result.returncode != 0
    assert "stdin:1: file is larger than the import limit" in result.stderr
