"""Shared test plumbing.

A test that needs a real service (PostgreSQL, Redis, a browser, smtp-sink)
calls `require_service`: on a laptop without it the test skips with a reason;
in CI (CI=true) the same situation is a failure, so CI can never go green by
skipping the real-parts tests.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# The real seed pages, byte-for-byte copies of ../shared/seeds (do not edit: tests assert on them): the
# suite carries its own data, so a fresh clone runs every test.
SEEDS = DATA / "seeds"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_service(available: bool, reason: str) -> None:
    if available:
        return
    if in_ci():
        pytest.fail(f"required in CI but not available: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def redis_url() -> str:
    """A real Redis for broker/cache tests (TEST_REDIS_URL, default db 15 on localhost)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        ok = True
    except Exception:
        ok = False
    require_service(ok, f"Redis not reachable at {url}")
    return url


@pytest.fixture(autouse=True)
def _mail_to_tmp(settings, tmp_path):
    """Never write into the developer's var/mail/ from a test."""
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.MAIL_DIR = tmp_path / "mail"
