"""Admin "Sending health": per-day sent, failed, bounced, complained, unsubscribed and the complaint rate."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import User

from subscriptions.models import DeliveryEvent, Digest
from tests.factories import DigestFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 3, 12)
URL = "/admin/subscriptions/deliveryevent/health/"


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser("boss", "boss@example.org", "pw-long-enough-123")
    client.force_login(admin)
    return client


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _sent(day: dt.date, n: int, status=Digest.Status.SENT):
    for _ in range(n):
        DigestFactory(digest_date=day, status=status)


def _event(day: dt.date, kind: str, n: int = 1):
    for _ in range(n):
        DeliveryEvent.objects.create(email="x@example.org", kind=kind, provider="Postmark", occurred_at=_at(day))


def _row(html: str, day: dt.date) -> list[str]:
    match = re.search(rf'<tr class="level-(\w+)" data-day="{day.isoformat()}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {day}"
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(2), re.S)]
    return [match.group(1), *cells]


@time_machine.travel(_at(TODAY, 18), tick=False)
def test_it_shows_each_day_and_flags_complaint_rates_over_the_limits(staff_client):
    yesterday, two_ago = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)
    # Today: 1000 sent, 1 complaint = 0.10%: at the 0.1% target, a warning.
    _sent(TODAY, 1000)
    _sent(TODAY, 2, status=Digest.Status.FAILED)
    _event(TODAY, DeliveryEvent.Kind.COMPLAINED)
    _event(TODAY, DeliveryEvent.Kind.BOUNCED, 3)
    _event(TODAY, DeliveryEvent.Kind.DEFERRED, 5)  # soft bounces are not bounces
    # Yesterday: 200 sent, 1 complaint = 0.50%: over the 0.3% limit.
    _sent(yesterday, 200)
    _event(yesterday, DeliveryEvent.Kind.COMPLAINED)
    # Two days ago: a clean day with two unsubscribes.
    _sent(two_ago, 50)
    SubscriberFactory.create_batch(2, status="unsubscribed", unsubscribed_at=_at(two_ago, 12))

    response = staff_client.get(URL + "?days=7")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sending health" in html

    level, day, sent, failed, bounced, bounce_rate, complained, rate, unsub = _row(html, TODAY)
    assert (level, sent, failed, bounced, complained, unsub) == ("warn", "1000", "2", "3", "1", "0")
    assert rate == "0.10% above target" and bounce_rate == "0.30%"

    level, *_, complained, rate, _ = _row(html, yesterday)
    assert level == "over" and rate == "0.50% over the limit"

    level, _, sent, *_, rate, unsub = _row(html, two_ago)
    assert (level, sent, rate, unsub) == ("ok", "50", "0.00%", "2")

    # Seven rows, newest first, and the window's total (2 complaints / 1250 sent = 0.16%).
    assert len(re.findall(r'data-day="', html)) == 7
    assert html.index(f'data-day="{TODAY}"') < html.index(f'data-day="{two_ago}"')
    total = re.search(r'<tr class="total level-(\w+)">(.*?)</tr>', html, re.S)
    assert total.group(1) == "warn" and "1250" in total.group(2) and "0.16%" in total.group(2)


@time_machine.travel(_at(TODAY, 18), tick=False)
def test_it_leaves_out_events_outside_the_window(staff_client):
    old = TODAY - dt.timedelta(days=10)
    _sent(old, 10)
    _event(old, DeliveryEvent.Kind.COMPLAINED)
    html = staff_client.get(URL + "?days=7").content.decode()
    assert f'data-day="{old}"' not in html
    assert 'class="level-over"' not in html and 'class="level-warn"' not in html
    assert '<tr class="total level-ok">' in html


def test_it_links_from_the_delivery_events_list(staff_client):
    html = staff_client.get("/admin/subscriptions/deliveryevent/").content.decode()
    assert URL in html and "Sending health" in html


def test_it_is_for_staff_only(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    User.objects.create_user("reader", "r@example.org", "pw-long-enough-123", is_staff=True)
    client.login(username="reader", password="pw-long-enough-123")
    assert client.get(URL).status_code == 403  # staff, but no permission on delivery events
