"""Pending sign-ups never confirmed are erased after 30 days."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from subscriptions import tasks
from subscriptions.models import Keyword, Subscriber
from subscriptions.schedules import SCHEDULES
from subscriptions.services.subscribers import subscriber_signup
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
Status = Subscriber.Status


def test_it_purges_pending_older_than_30_days_and_nothing_else():
    with time_machine.travel(T0, tick=False):
        subscriber_signup(email="old@example.org", keywords="diffusion")
        for status in (Status.ACTIVE, Status.PAUSED, Status.UNSUBSCRIBED):
            SubscriberFactory(email=f"{status}@example.org", status=status)
    with time_machine.travel(T0 + dt.timedelta(days=29), tick=False):
        subscriber_signup(email="recent@example.org", keywords="graphs")
    with time_machine.travel(T0 + dt.timedelta(days=30, minutes=1), tick=False):
        assert tasks.purge_pending_subscribers.apply().get() == 1
    assert not Subscriber.objects.filter(email="old@example.org").exists()
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "recent@example.org", "active@example.org", "paused@example.org", "unsubscribed@example.org"}
    assert list(Keyword.objects.values_list("text", flat=True)) == ["graphs"]


def test_signing_up_again_restarts_the_clock():
    with time_machine.travel(T0, tick=False):
        subscriber_signup(email="ada@example.org", keywords="diffusion")
    with time_machine.travel(T0 + dt.timedelta(days=20), tick=False):
        subscriber_signup(email="ada@example.org", keywords="diffusion")
    with time_machine.travel(T0 + dt.timedelta(days=31), tick=False):
        assert tasks.purge_pending_subscribers.apply().get() == 0
    assert Subscriber.objects.filter(email="ada@example.org").exists()


def test_it_is_scheduled_daily():
    entry, = [s for s in SCHEDULES if s["task"] == "subscriptions.tasks.purge_pending_subscribers"]
    assert set(entry["crontab"]) == {"minute", "hour"}
    assert tasks.purge_pending_subscribers.name == entry["task"]
