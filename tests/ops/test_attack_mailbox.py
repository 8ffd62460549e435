"""One mailbox, one allowance (issue 11, items 2 and 3): spellings of an address share the
per-address rate limit, and complained or bounced addresses get nothing from the public forms."""
from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from subscriptions.models import Keyword, Subscriber
from subscriptions.services.subscribers import mailbox_key
from subscriptions.views import RATE_PER_ADDRESS
from tests.factories import KeywordFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

PER_ADDRESS = int(RATE_PER_ADDRESS.split("/")[0])
# What an attacker typed to get fresh allowances for conf5@example.org.
VARIANTS = ["conf5@example.org.", "conf5@ｅxample.org", "Conf5@Example.org", "CONF5@EXAMPLE.ORG.",
            "conf5@ＥＸＡＭＰＬＥ．ｏｒｇ", " conf5@example.org ", "ｃｏｎｆ5@example.org"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _post(client, name: str, email: str, ip: str, capture) -> int:
    with capture(execute=True):
        return client.post(reverse(f"subscriptions:{name}"), {"email": email, "keywords": "diffusion"},
                           REMOTE_ADDR=ip).status_code


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_spelling_is_one_mailbox_key(variant):
    assert mailbox_key(variant) == "conf5@example.org"


@pytest.mark.parametrize("name", ["subscribe", "send_link"])
def test_spellings_of_one_address_share_its_allowance(client, django_capture_on_commit_callbacks, name):
    if name == "send_link":
        SubscriberFactory(email="conf5@example.org", status=Subscriber.Status.PENDING)
    for i in range(PER_ADDRESS):
        assert _post(client, name, "conf5@example.org", f"198.51.100.{i}", django_capture_on_commit_callbacks) == 302
    sent = len(mail.outbox)
    assert sent == PER_ADDRESS
    answers = [_post(client, name, v, f"203.0.113.{i}", django_capture_on_commit_callbacks)
               for i, v in enumerate(VARIANTS)]
    assert answers == [429] * len(VARIANTS)
    assert len(mail.outbox) == sent
    assert Subscriber.objects.count() == 1


@pytest.mark.parametrize("status", [Subscriber.Status.COMPLAINED, Subscriber.Status.BOUNCED])
@pytest.mark.parametrize("name", ["subscribe", "send_link"])
def test_complained_and_bounced_addresses_get_nothing_and_the_usual_page(
        client, django_capture_on_commit_callbacks, name, status):
    stranger = _post(client, name, "nobody@example.org", "192.0.2.1", django_capture_on_commit_callbacks)
    Subscriber.objects.all().delete()
    mail.outbox.clear()
    gone = SubscriberFactory(email="gone@example.org", status=status)
    KeywordFactory(subscriber=gone, text="graphs")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(f"subscriptions:{name}"), {"email": "Gone@Example.org.", "keywords": "x"},
                               REMOTE_ADDR="192.0.2.2")
    assert (response.status_code, stranger) == (302, 302)
    assert response.url == reverse(f"subscriptions:{'subscribe_done' if name == 'subscribe' else 'send_link_done'}")
    assert mail.outbox == []
    gone.refresh_from_db()
    assert gone.status == status
    assert list(Keyword.objects.filter(subscriber=gone).values_list("text", flat=True)) == ["graphs"]
