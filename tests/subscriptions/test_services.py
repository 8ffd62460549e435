"""The subscriber services called directly: what `make demo`, the admin and the tasks rely on."""
from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from subscriptions.models import Keyword, Subscriber
from subscriptions.services.subscribers import (
    email_normalize,
    keywords_parse,
    subscriber_create_confirmed,
    subscriber_keywords_set,
    subscriber_signup,
    subscriber_unsubscribe,
)

pytestmark = pytest.mark.django_db


def test_it_creates_confirmed_demo_subscribers_idempotently(outbox):
    first = subscriber_create_confirmed(email="ada@example.org", keywords=["pretraining", "BERT"])
    again = subscriber_create_confirmed(email="ADA@example.org", keywords=["retrieval"])
    assert first.pk == again.pk
    assert again.status == Subscriber.Status.ACTIVE and again.confirmed_at is not None
    assert [k.text for k in again.keywords.all()] == ["retrieval"]
    assert outbox == []


def test_it_refuses_bad_demo_input():
    with pytest.raises(ValidationError):
        subscriber_create_confirmed(email="not an address", keywords=["x"])
    with pytest.raises(ValidationError):
        subscriber_create_confirmed(email="ada@example.org", keywords=[])
    assert not Subscriber.objects.exists()


def test_it_replaces_keywords_and_validates_them():
    s = subscriber_create_confirmed(email="ada@example.org", keywords=["a1"])
    subscriber_keywords_set(subscriber_id=s.pk, keywords="Few-shot, few shot\nGPT")
    assert [k.text for k in Keyword.objects.filter(subscriber=s)] == ["Few-shot", "GPT"]
    with pytest.raises(ValidationError):
        subscriber_keywords_set(subscriber_id=s.pk, keywords=", ,")
    assert Keyword.objects.filter(subscriber=s).count() == 2


def test_it_reports_every_keyword_problem_at_once():
    with pytest.raises(ValidationError) as exc:
        keywords_parse(["ok", "z" * 101, "!!!"])
    assert len(exc.value.messages) == 2


@pytest.mark.parametrize("raw,expected", [
    ("  Ada@Example.ORG ", "Ada@example.org"),
    ("ada@BÜCHER.de", "ada@bücher.de"),
    ("ada@xn--bcher-kva.de", "ada@bücher.de"),
    ("ada@example.org.", "ada@example.org"),
])
def test_it_normalizes_addresses(raw, expected):
    assert email_normalize(raw) == expected


def test_unsubscribe_is_idempotent():
    s = subscriber_create_confirmed(email="ada@example.org", keywords=["x1"])
    assert subscriber_unsubscribe(subscriber_id=s.pk) is True
    assert subscriber_unsubscribe(subscriber_id=s.pk) is False
    assert subscriber_unsubscribe(subscriber_id=123456) is False


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_signups_for_one_address_make_one_row():
    if connection.vendor != "postgresql":  # not a missing service: SQLite has no concurrent writers to race
        pytest.skip("needs PostgreSQL for truly concurrent transactions (the PostgreSQL run of .ci/run has it)")
    barrier = threading.Barrier(4)
    errors = []

    def sign_up(n):
        try:
            barrier.wait()
            subscriber_signup(email="Race@Example.org" if n % 2 else "race@example.org", keywords=f"topic {n}")
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert Subscriber.objects.count() == 1
    assert Keyword.objects.count() == 1
