"""Site-wide hardening (issue 11, item 9): admin password guessing is throttled, HSTS preload and
includeSubDomains come only from explicit settings, and `demo` refuses to run on a real site."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from digest_site.urls import ADMIN_LOGIN_RATE_PER_IP, ADMIN_LOGIN_RATE_PER_USERNAME
from tests.ops.test_deploy_settings import PRODUCTION, _run

PER_IP = int(ADMIN_LOGIN_RATE_PER_IP.split("/")[0])
PER_USERNAME = int(ADMIN_LOGIN_RATE_PER_USERNAME.split("/")[0])


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    # The limiter is under test, not password hashing: Django's PBKDF2 costs ~0.5 s per login here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def _login(client, username: str, password: str, ip: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_it_stops_guessing_one_admin_password_from_many_addresses(client):
    get_user_model().objects.create_superuser("editor", "editor@example.org", "the-real-password-42")
    for n in range(PER_USERNAME):
        assert _login(client, "editor", f"guess-{n}", f"198.51.100.{n}").status_code == 200  # the form again
    refused = _login(client, "Editor", "the-real-password-42", "198.51.100.250")
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account is not locked by guesses at this one.
    assert _login(client, "someone", "x", "198.51.100.251").status_code == 200


@pytest.mark.django_db
def test_it_stops_one_address_guessing_many_accounts(client):
    for n in range(PER_IP):
        assert _login(client, f"user{n}", "guess", "203.0.113.9").status_code == 200
    assert _login(client, "another", "guess", "203.0.113.9").status_code == 429
    assert client.get("/admin/login/", REMOTE_ADDR="203.0.113.9").status_code == 200  # reading the form is free


def _security_settings(tmp_path, **overrides) -> list[str]:
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, " \
           "s.SECURE_HSTS_PRELOAD)"
    result = _run(tmp_path, ["shell", "-c", code], **{**PRODUCTION, **overrides})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split()


def test_hsts_preload_and_subdomains_only_when_asked(tmp_path):
    assert _security_settings(tmp_path) == ["31536000", "False", "False"]
    assert _security_settings(tmp_path, SECURE_HSTS_INCLUDE_SUBDOMAINS="true", SECURE_HSTS_PRELOAD="true") == [
        "31536000", "True", "True"]
    junk = _run(tmp_path, ["check"], **{**PRODUCTION, "SECURE_HSTS_PRELOAD": "maybe"})
    assert junk.returncode != 0 and "SECURE_HSTS_PRELOAD" in junk.stderr


@pytest.mark.parametrize("overrides, reason", [
    ({"DEBUG": "false", "DATABASE_URL": None}, "DEBUG is off"),
    ({"DEBUG": "true", "DATABASE_URL": "postgres://digest:pw@127.0.0.1:1/nowhere"}, "not the embedded SQLite"),
])
def test_demo_refuses_a_real_site_without_force(tmp_path, overrides, reason):
    env = {"DEBUG": overrides["DEBUG"]}
    if overrides["DATABASE_URL"]:
        env["DATABASE_URL"] = overrides["DATABASE_URL"]
    result = _run(tmp_path, ["demo"], **env)
    assert result.returncode != 0
    assert reason in result.stderr and "--force" in result.stderr
    # Nothing was created: no database file, no admin user.
    assert not (tmp_path / "db.sqlite3").exists()
