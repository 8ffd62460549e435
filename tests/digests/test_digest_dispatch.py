"""The hourly dispatch: each subscriber at their local send hour, on their local date, across DST."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from subscriptions.models import Digest, Subscriber
from subscriptions.services.digests import digests_dispatch, local_date_hour
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

UTC = dt.timezone.utc


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def reader(zone: str, hour: int, **fields) -> Subscriber:
    subscriber = SubscriberFactory(timezone=zone, send_hour=hour, **fields)
    KeywordFactory(subscriber=subscriber, text="diffusion")
    return subscriber


def dispatched(when: dt.datetime) -> dict[str, dt.date]:
    """Run the hourly dispatch with the clock at `when`; {email: digest date} of the rows it made."""
    before = set(Digest.objects.values_list("id", flat=True))
    with time_machine.travel(when, tick=False):
        digests_dispatch()
    made = Digest.objects.exclude(id__in=before).select_related("subscriber")
    return {d.subscriber.email: d.digest_date for d in made}


def test_it_reads_the_local_date_and_hour():
    assert local_date_hour("UTC", at(2024, 3, 12, 7)) == (dt.date(2024, 3, 12), 7)
    assert local_date_hour("Asia/Tokyo", at(2024, 3, 12, 22)) == (dt.date(2024, 3, 13), 7)
    # Half-hour zones are served at the top of the UTC hour: 12:30 in Kolkata is "hour 12".
    assert local_date_hour("Asia/Kolkata", at(2024, 3, 12, 7)) == (dt.date(2024, 3, 12), 12)
    # New York, 2024-03-10: 01:59 EST is followed by 03:00 EDT (07:00 UTC).
    assert local_date_hour("America/New_York", at(2024, 3, 10, 7)) == (dt.date(2024, 3, 10), 3)


def test_it_treats_an_unknown_zone_as_utc():
    assert local_date_hour("Mars/Olympus_Mons", at(2024, 3, 12, 7)) == (dt.date(2024, 3, 12), 7)


@pytest.mark.django_db
def test_it_builds_for_the_people_whose_local_send_hour_begins_now():
    for day in (dt.date(2024, 3, 12), dt.date(2024, 3, 13)):
        ListingFactory(paper=PaperFactory(title=f"Diffusion on {day}"), listed_on=day)
    reader("UTC", 7, email="london@example.org")
    reader("Asia/Tokyo", 7, email="tokyo@example.org")
    reader("America/Los_Angeles", 23, email="la@example.org")
    reader("UTC", 8, email="later@example.org")

    # 21:00 UTC on the 12th: 06:00 on the 13th in Tokyo; London's and "later"'s hours have come (the 12th).
    assert dispatched(at(2024, 3, 12, 21)) == {"london@example.org": dt.date(2024, 3, 12),
                                               "later@example.org": dt.date(2024, 3, 12)}
    # 22:00 UTC on the 12th: 07:00 on the 13th in Tokyo, 15:00 in Los Angeles.
    assert dispatched(at(2024, 3, 12, 22)) == {"tokyo@example.org": dt.date(2024, 3, 13)}
    # 06:00 UTC on the 13th: 23:00 on the 12th in Los Angeles (PDT since the 10th).
    assert dispatched(at(2024, 3, 13, 6)) == {"la@example.org": dt.date(2024, 3, 12)}
    assert dispatched(at(2024, 3, 13, 7)) == {"london@example.org": dt.date(2024, 3, 13)}
    assert dispatched(at(2024, 3, 13, 8)) == {"later@example.org": dt.date(2024, 3, 13)}
    assert dispatched(at(2024, 3, 13, 9)) == {}


@pytest.mark.django_db
def test_a_late_or_missed_run_is_caught_up_by_the_next_one_the_same_day():
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 13))
    reader("UTC", 7, email="london@example.org")

    # The 07:00 run never happened (workers down); the 08:00 run serves London, once.
    assert dispatched(at(2024, 3, 13, 6)) == {}
    assert dispatched(at(2024, 3, 13, 8, 0, 30)) == {"london@example.org": dt.date(2024, 3, 13)}
    assert dispatched(at(2024, 3, 13, 9)) == {}


@pytest.mark.django_db
def test_a_beat_that_fires_a_moment_early_serves_the_hour_about_to_begin():
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 13))
    reader("UTC", 7, email="london@example.org")

    assert dispatched(at(2024, 3, 13, 6, 30)) == {}  # not half an hour early
    assert dispatched(dt.datetime(2024, 3, 13, 6, 59, 59, 990000, tzinfo=UTC)) == {
        "london@example.org": dt.date(2024, 3, 13)}


@pytest.mark.django_db
def test_it_sends_on_the_day_daylight_saving_starts_and_ends_exactly_once():
    for day in (dt.date(2024, 3, 10), dt.date(2024, 11, 3)):
        ListingFactory(paper=PaperFactory(title=f"Diffusion on {day}"), listed_on=day)
    reader("America/New_York", 2, email="two@example.org")
    reader("America/New_York", 1, email="one@example.org")

    # Spring forward: 02:00 never happens; the 2 o'clock reader is served at 03:00 EDT.
    assert dispatched(at(2024, 3, 10, 6)) == {"one@example.org": dt.date(2024, 3, 10)}
    assert dispatched(at(2024, 3, 10, 7)) == {"two@example.org": dt.date(2024, 3, 10)}
    # Fall back: 01:00 happens twice, the 1 o'clock reader gets one digest.
    assert dispatched(at(2024, 11, 3, 5)) == {"one@example.org": dt.date(2024, 11, 3)}
    assert dispatched(at(2024, 11, 3, 6)) == {}
    assert dispatched(at(2024, 11, 3, 7)) == {"two@example.org": dt.date(2024, 11, 3)}


@pytest.mark.django_db
def test_it_builds_weekly_digests_on_the_local_weekday():
    ListingFactory(paper=PaperFactory(title="Diffusion on Monday"), listed_on=dt.date(2024, 3, 11))
    # Monday 07:00 in Tokyo is Sunday 22:00 UTC.
    reader("Asia/Tokyo", 7, email="weekly@example.org", frequency=Subscriber.Frequency.WEEKLY, send_weekday=0)

    assert dispatched(at(2024, 3, 9, 22)) == {}  # Sunday in Tokyo
    assert dispatched(at(2024, 3, 10, 22)) == {"weekly@example.org": dt.date(2024, 3, 11)}


@pytest.mark.django_db
def test_it_dispatches_twice_without_a_second_row():
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 12))
    reader("UTC", 7, email="once@example.org")

    first = dispatched(at(2024, 3, 12, 7))
    second = dispatched(at(2024, 3, 12, 7, 30))

    assert first == {"once@example.org": dt.date(2024, 3, 12)} and second == {}
    assert Digest.objects.count() == 1


@pytest.mark.django_db
def test_it_builds_everyone_due_this_hour_chunk_by_chunk(monkeypatch):
    from subscriptions.services import digests

    monkeypatch.setattr(digests, "BUILD_CHUNK", 2)
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 12))
    due = {f"due{n}@example.org" for n in range(5)}
    for n, email in enumerate(sorted(due)):
        reader("UTC" if n % 2 else "Europe/London", 7, email=email)  # London is on GMT in March
        reader("UTC", 8, email=f"later{n}@example.org")

    assert dispatched(at(2024, 3, 12, 7)) == dict.fromkeys(due, dt.date(2024, 3, 12))
