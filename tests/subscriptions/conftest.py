"""Helpers for the signup-flow tests: a clean rate-limit cache, emails run
after commit, and links taken out of the emails a person would get."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and preview results live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


def links_in(message, path_prefix: str) -> list[str]:
    """Site paths (no host) starting with path_prefix, found in the text part of a message."""
    paths = []
    for url in LINK.findall(message.body):
        path = urlsplit(url).path
        if path.startswith(path_prefix):
            paths.append(path)
    return paths


def link_in(message, path_prefix: str) -> str:
    found = links_in(message, path_prefix)
    assert found, f"no {path_prefix} link in:\n{message.body}"
    return found[0]


@pytest.fixture
def signup(client, django_capture_on_commit_callbacks):
    """POST the subscribe form the way a browser does; on-commit emails are sent."""

    def post(email="ada@example.org", keywords="diffusion, speech recognition", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("subscriptions:subscribe"), {"email": email, "keywords": keywords, **extra})

    return post


@pytest.fixture
def outbox():
    return mail.outbox
