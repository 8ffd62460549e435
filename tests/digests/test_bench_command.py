"""`make bench`'s digest benchmark still runs end to end (tiny N): real workers, Redis, PostgreSQL, smtp-sink.

The speed itself is measured by `make bench`, never asserted here; this only
keeps the benchmark from rotting between measurements.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest import REPO, port_open, require_service

pytestmark = pytest.mark.integration  # starts real processes; its database is always PostgreSQL

LAST_LINE = re.compile(
    r"^bench: subscribers=(\d+) digests=(\d+) seconds=([\d.]+) digests_per_s=(\d+) peak_rss_mb=(\d+)$")


@pytest.fixture
def sink_installed():
    require_service(bool(shutil.which("smtp-sink") or Path("/usr/sbin/smtp-sink").exists()),
                    "Postfix smtp-sink not installed (make system-deps)")


def bench_database_url() -> str:
    """A bench database of this checkout's own (digest_NAME_bench): one shared by several checkouts
    would carry another branch's migrations."""
    url = os.environ.get("DATABASE_URL", "")
    own = urlsplit(url).path.strip("/") if url.startswith("postgres") else ""
    return f"postgres://postgres@127.0.0.1:5432/{own or 'digest'}_bench_test"


def drop_database(url: str) -> None:
    """Start from nothing: the bench creates and migrates its database when it is missing."""
    name = urlsplit(url).path.strip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_bench_digests_runs_the_day_and_prints_its_last_line(redis_url, sink_installed):
    require_service(port_open("127.0.0.1", 5432), "PostgreSQL not reachable at 127.0.0.1:5432")
    bench_redis = re.sub(r"/\d+$", "/14", redis_url)  # the bench flushes its broker database
    database_url = bench_database_url()
    drop_database(database_url)  # a database left by an older checkout may carry other migrations

    done = subprocess.run(
        [sys.executable, "manage.py", "bench_digests", "--subscribers", "300", "--papers", "40", "--vocabulary", "100",
         "--database-url", database_url, "--redis-url", bench_redis],
        cwd=REPO, env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True, text=True, timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]  # the figures on stdout, the details on stderr
    match = LAST_LINE.match(last)
    assert match, last
    subscribers, digests, seconds, _, peak_mb = match.groups()
    # A few subscribers match nothing and are skipped; everyone else got exactly one digest
    # (the command itself checks the sink's count against the rows marked sent).
    assert subscribers == "300" and 280 <= int(digests) <= 300
    assert float(seconds) > 0 and int(peak_mb) > 0
