"""`manage.py send_digests [--date YYYY-MM-DD] [--timeout S]`: the day's digest job, end to end.

Builds every due digest for the date and sends them: here and now with no
broker (embedded mode), through the Celery workers when CELERY_BROKER_URL is
set (waiting until every digest of the date is sent or failed). Safe to run
again: nothing is built or sent twice. Prints `built=N sent=N skipped=N failed=N`.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from digests.services.day import digests_run_day


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value!r} is not a date: use YYYY-MM-DD, e.g. 2024-03-12") from None


class Command(BaseCommand):
    help = "Build and send the digests of one day (default: today, UTC)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="digest date, YYYY-MM-DD (default: today in UTC)")
        parser.add_argument("--timeout", type=float, default=3600.0,
                            help="with a broker, seconds to wait for the workers (default 3600)")
        parser.add_argument("--no-wait", action="store_true", help="with a broker, enqueue and return at once")

    def handle(self, *args, date=None, timeout=3600.0, no_wait=False, **options):
        day = _date(date) if date else timezone.now().date()
        if timeout <= 0:
            raise CommandError(f"--timeout {timeout}: must be a positive number of seconds")
        mode = "eager (no broker)" if settings.CELERY_TASK_ALWAYS_EAGER else "through the Celery workers"
        self.stderr.write(f"digests for {day}, {mode}")
        counts = digests_run_day(digest_date=day, wait=not no_wait, timeout=timeout)
        self.stdout.write(f"built={counts.built} sent={counts.sent} skipped={counts.skipped} failed={counts.failed}")
        if counts.pending and not no_wait:
            raise CommandError(
                f"{counts.pending} digests of {day} are still waiting to be sent (mail server down, or no worker "
                f"running?). They stay queued: run this command again, or see the Digest admin."
            )
