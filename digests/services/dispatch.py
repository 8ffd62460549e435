"""The hourly dispatch: whose local send hour is now, in every time zone, and their digests built.

The build and the enqueue are build.py's; this module only decides who
is due at this hour (docs/digests.md, "Dispatch and time zones").
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q
from django.utils import timezone

from subscriptions.models import Subscriber

from .build import BuildCounts, digests_build_and_enqueue

__all__ = ["CATCH_UP_HOURS", "DISPATCH_TASK", "digests_dispatch", "local_hours"]

logger = logging.getLogger(__name__)

DISPATCH_TASK = "subscriptions.tasks.digests_dispatch"  # digests/tasks.py, digests/schedules.py
DISPATCH_EARLY_TOLERANCE = dt.timedelta(minutes=5)  # a beat firing this early serves the hour about to begin
CATCH_UP_HOURS = 6  # a missed hourly run is made up this long after, the same local day


def digests_dispatch(*, now: dt.datetime | None = None) -> BuildCounts:
    """Build and enqueue the digests of everyone whose local send hour just began, or passed earlier today.

    Each subscriber's digest date is their local date. A local hour that a
    daylight-saving jump skips is served with the next one; an hour that repeats
    is served once (the second time their row exists already). Readers who have
    had a digest before and whose hour passed up to CATCH_UP_HOURS ago without
    one are served too: a run that was late or missed (workers down, a task
    redelivered after the broker's visibility timeout) is made up by the next.
    """
    # A beat that fires a moment early still counts as the hour about to begin.
    now = ((now or timezone.now()).astimezone(dt.UTC) + DISPATCH_EARLY_TOLERANCE).replace(
        minute=0, second=0, microsecond=0)
    groups: dict[dt.date, Q] = {}

    def add(day: dt.date, where: Q) -> None:
        groups[day] = groups.get(day, Q(pk__in=[])) | where

    zones = (Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).order_by()
             .values_list("timezone", flat=True).distinct())  # a few hundred names, not a row per subscriber
    for name in zones:
        tz = _zone(name)
        for day, hour in local_hours(tz, now):
            add(day, Q(timezone=name, send_hour=hour))
        # Catching up is for readers who have had a digest before: someone who just
        # signed up gets their first at their next send hour, as the welcome page says.
        local = now.astimezone(tz)
        add(local.date(), Q(timezone=name, send_hour__lt=local.hour, send_hour__gte=local.hour - CATCH_UP_HOURS,
                            last_digest_on__isnull=False))
    built = skipped = 0
    for local_date, where in sorted(groups.items(), key=lambda group: group[0]):
        # A condition, not a list of ids: at 7:00 UTC a million subscribers may be due,
        # and every chunk's query would carry the whole list.
        counts = digests_build_and_enqueue(digest_date=local_date, where=where)
        built, skipped = built + counts.built, skipped + counts.skipped
    return BuildCounts(built, skipped)


def local_hours(tz: dt.tzinfo, now: dt.datetime) -> list[tuple[dt.date, int]]:
    """(local date, local hour) pairs that began in (now - 1 h, now] on the wall clock of `tz`.

    Usually one pair; two when a DST jump skipped an hour (01:59 -> 03:00 gives
    hours 2 and 3); none when the clock fell back into an hour already served.
    """
    current = now.astimezone(tz).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    previous = (now - dt.timedelta(hours=1)).astimezone(tz).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    hours = []
    wall = previous + dt.timedelta(hours=1)
    while wall <= current:
        hours.append((wall.date(), wall.hour))
        wall += dt.timedelta(hours=1)
    return hours


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r: treated as UTC", name)
        return dt.UTC
