"""Abuse: per-IP and per-address limits on signup and "email me a link", with a clear 429 page."""
from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.views import RATE_PER_ADDRESS, RATE_PER_IP

pytestmark = pytest.mark.django_db

PER_ADDRESS = int(RATE_PER_ADDRESS.split("/")[0])
PER_IP = int(RATE_PER_IP.split("/")[0])


def post(client, name, email, ip="203.0.113.7"):
    return client.post(reverse(f"subscriptions:{name}"), {"email": email, "keywords": "diffusion"}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("name", ["subscribe", "send_link"])
def test_it_limits_requests_for_one_address_from_many_ips(client, outbox, django_capture_on_commit_callbacks, name):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(PER_ADDRESS):
            assert post(client, name, "victim@example.org", ip=f"198.51.100.{i}").status_code == 302
    sent = len(outbox)
    response = post(client, name, "Victim@Example.org", ip="198.51.100.200")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many requests" in html and "try again in an hour" in html
    assert response["Retry-After"] == "3600"
    assert len(outbox) == sent
    # Another address from that IP is still fine.
    assert post(client, name, "someone@example.org", ip="198.51.100.200").status_code == 302


@pytest.mark.parametrize("name", ["subscribe", "send_link"])
def test_it_limits_requests_from_one_ip(client, name):
    for i in range(PER_IP):
        assert post(client, name, f"reader{i}@example.org").status_code == 302
    response = post(client, name, "one-more@example.org")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert not Subscriber.objects.filter(email="one-more@example.org").exists()
    assert post(client, name, "one-more@example.org", ip="192.0.2.1").status_code == 302


def test_it_does_not_count_page_views(client):
    for _ in range(PER_IP + 5):
        assert client.get(reverse("subscriptions:subscribe"), REMOTE_ADDR="203.0.113.7").status_code == 200


def test_it_limits_on_the_shared_redis_cache_that_production_uses(client, settings, redis_url):
    import uuid

    # A prefix of our own instead of FLUSHDB: the Redis database may be shared.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    for i in range(PER_ADDRESS):
        assert post(client, "subscribe", "victim@example.org", ip=f"198.51.100.{i}").status_code == 302
    assert post(client, "subscribe", "victim@example.org", ip="198.51.100.99").status_code == 429
