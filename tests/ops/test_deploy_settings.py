"""Production settings: `check --deploy` is clean, and a malformed variable stops start-up by name."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3J9-vQ2xZ7pL0mN4bR8tY1uW6eA5sD3fG9hJ2kL7zX4cV8bN1mQ0wE5rT6yU3iO9p"


def _variables() -> set[str]:
    from tests.ops.test_compose import documented_variables, settings_variables

    return settings_variables() | documented_variables()


def _run(tmp_path, args: list[str], **overrides) -> subprocess.CompletedProcess:
    # Start from this environment minus anything the settings read, so only what the test sets counts.
    env = {k: v for k, v in os.environ.items() if k not in _variables() and k != "DJANGO_SETTINGS_MODULE"}
    env.update(VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.update({k: v for k, v in overrides.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


PRODUCTION = dict(
    DEBUG="false",
    SECRET_KEY=STRONG_KEY,
    ALLOWED_HOSTS="papers.example.org",
    SITE_URL="https://papers.example.org",
    DATABASE_URL="postgres://digest:pw@db.internal:5432/digest",
    CELERY_BROKER_URL="redis://redis.internal:6379/0",
    REDIS_URL="redis://redis.internal:6379/1",
    EMAIL_URL="anymail://postmark?server_token=tok-123",
    ANYMAIL_WEBHOOK_SECRET="hooks:a-long-random-password",
    DEFAULT_FROM_EMAIL="Trending Papers <digest@papers.example.org>",
)


def test_it_passes_check_deploy_with_the_documented_production_variables(tmp_path):
    result = _run(tmp_path, ["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (2 silenced)." in result.stdout  # HSTS subdomains, preload: opt-in


def test_it_fails_check_deploy_with_the_laptop_key_or_plain_http(tmp_path):
    laptop_key = _run(tmp_path, ["check", "--deploy", "--fail-level", "WARNING"], **{**PRODUCTION, "SECRET_KEY": ""})
    assert laptop_key.returncode != 0 and "security.W009" in laptop_key.stderr + laptop_key.stdout
    http = _run(tmp_path, ["check", "--deploy", "--fail-level", "WARNING"],
                **{**PRODUCTION, "SITE_URL": "http://papers.example.org"})
    assert http.returncode != 0
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= set(
        re.findall(r"security\.W\d+", http.stderr + http.stdout)
    )


def test_it_turns_on_https_protections_from_an_https_site_url(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.DEBUG, s.EMAIL_BACKEND, s.ANYMAIL['POSTMARK_SERVER_TOKEN'], "
        "s.ANYMAIL['WEBHOOK_SECRET'])"
    )
    result = _run(tmp_path, ["shell", "-c", code], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True", "True", "True", "31536000", "False", "False", "anymail.backends.postmark.EmailBackend", "tok-123",
        "['hooks:a-long-random-password']",
    ]


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "junk", "DATABASE_URL='junk': scheme must be one of"),
        ("EMAIL_URL", "junk", "EMAIL_URL is not a mail URL: unknown scheme"),
        ("EMAIL_URL", "anymail://nosuchesp", "EMAIL_URL is not a mail URL: unknown ESP 'nosuchesp'"),
        ("SITE_URL", "papers.example.org", "SITE_URL='papers.example.org': scheme must be one of http, https"),
        ("CELERY_BROKER_URL", "localhost:6379", "CELERY_BROKER_URL='localhost:6379': scheme must be one of"),
        ("REDIS_URL", "http://redis", "REDIS_URL='http://redis': scheme must be one of redis, rediss"),
        ("EMAIL_TIMEOUT", "soon", "EMAIL_TIMEOUT='soon' is not an integer"),
        ("ANYMAIL_WEBHOOK_SECRET", "no-colon", "ANYMAIL_WEBHOOK_SECRET must be user:password"),
        ("ARXIV_MAX_RESULTS", "0", "ARXIV_MAX_RESULTS=0 must be at least 1"),
        ("HF_DAILY_PAPERS_URL", "ftp://hf.example", "HF_DAILY_PAPERS_URL='ftp://hf.example': scheme must be one of"),
    ],
)
def test_it_stops_start_up_naming_a_malformed_variable(tmp_path, variable, value, message):
    result = _run(tmp_path, ["check"], **{variable: value})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert message in last_line


def test_it_does_not_echo_mail_credentials_in_the_error(tmp_path):
    result = _run(tmp_path, ["check"], EMAIL_URL="smtpx://user:hunter2-secret@mail.example.org")
    assert result.returncode != 0 and "EMAIL_URL" in result.stderr
    assert "hunter2-secret" not in result.stderr


def test_a_fresh_clone_migrates_its_embedded_sqlite_database_without_a_var_folder(tmp_path):
    fresh = tmp_path / "var"  # does not exist yet, as in a fresh clone
    env = {k: v for k, v in os.environ.items() if k not in _variables() and k != "DJANGO_SETTINGS_MODULE"}
    env["VAR_DIR"] = str(fresh)

    result = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (fresh / "db.sqlite3").stat().st_size > 0
