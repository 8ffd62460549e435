"""50 signups at once against the running app (issue 11, item 4 and the first fault figure).

runserver on the embedded SQLite, and gunicorn on PostgreSQL: no server error,
every subscriber stored once, one confirmation each. Before WAL, immediate
transactions and a busy timeout, SQLite answered 500 ("database is locked") to
most of a burst like this.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from subscriptions.models import Subscriber
from tests.conftest import REPO
from tests.digests.conftest import worker_database_url
from tests.ops.running_app import RunningApp, app_env, signup_storm

pytestmark = pytest.mark.integration

STORM = 50
RACE = ["race@example.org", "Race@Example.org", "race@example.org."]  # within the per-address 3/hour


def _emails(n: int) -> list[str]:
    return [f"reader{i}@example.org" for i in range(n)]


def _mail_to(var_dir) -> Counter:
    """Recipients of the confirmation emails the app wrote under VAR_DIR/mail (one .eml per message)."""
    found = Counter()
    for path in (var_dir / "mail").glob("*.eml"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("To: "):
                found[line[4:].strip().lower()] += 1
                break
    return found


def test_fifty_signups_at_once_on_sqlite_runserver(tmp_path):
    var = tmp_path / "var"
    env = app_env(VAR_DIR=str(var), DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}")
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stderr
    app = RunningApp.start("runserver", env, tmp_path / "runserver.log")
    try:
        statuses = signup_storm(app, _emails(STORM))
        race = signup_storm(app, RACE)
    finally:
        app.stop()
    assert Counter(statuses) == {302: STORM}, app.log()
    assert Counter(race) == {302: len(RACE)}, app.log()
    with sqlite3.connect(tmp_path / "app.sqlite3") as db:
        stored = Counter(e.lower() for (e,) in db.execute("SELECT email FROM subscriptions_subscriber"))
        keywords = db.execute("SELECT count(*) FROM subscriptions_keyword").fetchone()[0]
    assert stored == Counter({**dict.fromkeys(_emails(STORM), 1), "race@example.org": 1})
    assert keywords == 2 * (STORM + 1)
    mailed = _mail_to(var)
    assert all(mailed[e] == 1 for e in _emails(STORM)), mailed
    # A pending address asking again is owed a fresh link; requests that overlap share one email.
    assert 1 <= mailed["race@example.org"] <= len(RACE)


def test_fifty_signups_at_once_on_postgresql_gunicorn(transactional_db, tmp_path):
    if not worker_database_url().startswith("postgres"):
        pytest.skip("needs DATABASE_URL=postgres://... (the SQLite case is the runserver test)")
    var = tmp_path / "var"
    env = app_env(VAR_DIR=str(var), DATABASE_URL=worker_database_url())
    app = RunningApp.start("gunicorn", env, tmp_path / "gunicorn.log")
    try:
        statuses = signup_storm(app, _emails(STORM))
        race = signup_storm(app, RACE)
    finally:
        app.stop()
    assert Counter(statuses) == {302: STORM}, app.log()
    assert Counter(race) == {302: len(RACE)}, app.log()
    stored = Counter(e.lower() for e in Subscriber.objects.values_list("email", flat=True))
    assert stored == Counter({**dict.fromkeys(_emails(STORM), 1), "race@example.org": 1})
    mailed = _mail_to(var)
    assert all(mailed[e] == 1 for e in _emails(STORM)), mailed
