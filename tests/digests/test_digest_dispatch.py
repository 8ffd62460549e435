"""The hourly dispatch: each subscriber at their local send hour, on their local date, across DST."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from digests.services.dispatch import digests_dispatch, local_hours
from subscriptions.models import Digest, Subscriber
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

UTC = dt.UTC


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


def hours(zone: str, when: dt.datetime) -> list[tuple[dt.date, int]]:
    return local_hours(ZoneInfo(zone), when)


def test_it_lists_the_local_hour_that_just_began():
    assert hours("UTC", at(2024, 3, 12, 7)) == [(dt.date(2024, 3, 12), 7)]
    assert hours("Asia/Tokyo", at(2024, 3, 12, 22)) == [(dt.date(2024, 3, 13), 7)]
    # Half-hour zones are served at the top of the UTC hour: 12:30 in Kolkata is "hour 12".
    assert hours("Asia/Kolkata", at(2024, 3, 12, 7)) == [(dt.date(2024, 3, 12), 12)]


def test_it_serves_an_hour_that_daylight_saving_skips_with_the_next_one():
    # New York, 2024-03-10: 01:59 EST is followed by 03:00 EDT (07:00 UTC).
    assert hours("America/New_York", at(2024, 3, 10, 7)) == [(dt.date(2024, 3, 10), 2), (dt.date(2024, 3, 10), 3)]


def test_it_serves_an_hour_that_daylight_saving_repeats_once():
    # New York, 2024-11-03: 01:00-01:59 happens twice (05:00 and 06:00 UTC).
    assert hours("America/New_York", at(2024, 11, 3, 5)) == [(dt.date(2024, 11, 3), 1)]
    assert hours("America/New_York", at(2024, 11, 3, 6)) == []
    assert hours("America/New_York", at(2024, 11, 3, 7)) == [(dt.date(2024, 11, 3), 2)]


@pytest.mark.django_db
def test_it_treats_an_unknown_zone_as_utc():
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 12))
    reader("Mars/Olympus_Mons", 7, email="mars@example.org")

    assert dispatched(at(2024, 3, 12, 7)) == {"mars@example.org": dt.date(2024, 3, 12)}


@pytest.mark.django_db
def test_it_builds_for_the_people_whose_local_send_hour_begins_now():
    for day in (dt.date(2024, 3, 12), dt.date(2024, 3, 13)):
        ListingFactory(paper=PaperFactory(title=f"Diffusion on {day}"), listed_on=day)
    reader("UTC", 7, email="london@example.org")
    reader("Asia/Tokyo", 7, email="tokyo@example.org")
    reader("America/Los_Angeles", 23, email="la@example.org")
    reader("UTC", 8, email="later@example.org")

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
    reader("UTC", 7, email="london@example.org", last_digest_on=dt.date(2024, 3, 12))
    reader("UTC", 7, email="new@example.org")  # signed up after yesterday's digests
    reader("UTC", 1, email="early@example.org", last_digest_on=dt.date(2024, 3, 12))

    # The 07:00 run never happened (workers down); the 08:00 run serves London, once.
    assert dispatched(at(2024, 3, 13, 6)) == {"early@example.org": dt.date(2024, 3, 13)}  # its 01:00 run: missed too
    assert dispatched(at(2024, 3, 13, 8, 0, 30)) == {"london@example.org": dt.date(2024, 3, 13)}
    assert dispatched(at(2024, 3, 13, 9)) == {}
    # A first digest comes at the send hour itself, as the welcome page promises ("the next 07:00").
    assert dispatched(at(2024, 3, 14, 1)) == {"early@example.org": dt.date(2024, 3, 14)}
    assert dispatched(at(2024, 3, 14, 7)) == {"london@example.org": dt.date(2024, 3, 14),
                                              "new@example.org": dt.date(2024, 3, 14)}


@pytest.mark.django_db
def test_catching_up_stops_after_a_few_hours():
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 13))
    reader("UTC", 7, email="london@example.org", last_digest_on=dt.date(2024, 3, 12))

    assert dispatched(at(2024, 3, 13, 14)) == {}  # seven hours late: their papers come with tomorrow's


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
    from digests.services import build as digests

    monkeypatch.setattr(digests, "BUILD_CHUNK", 2)
    ListingFactory(paper=PaperFactory(title="Diffusion Today"), listed_on=dt.date(2024, 3, 12))
    due = {f"due{n}@example.org" for n in range(5)}
    for n, email in enumerate(sorted(due)):
        reader("UTC" if n % 2 else "Europe/London", 7, email=email)  # London is on GMT in March
        reader("UTC", 8, email=f"later{n}@example.org")

    assert dispatched(at(2024, 3, 12, 7)) == dict.fromkeys(due, dt.date(2024, 3, 12))
