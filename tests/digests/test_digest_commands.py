"""send_digests and setup_schedules, as an operator runs them."""
from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from subscriptions.models import Digest
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_send_digests_runs_the_day_and_prints_counts():
    ListingFactory(paper=PaperFactory(title="Diffusion Policies for Robots"), listed_on=dt.date(2024, 3, 12))
    for n in range(3):
        KeywordFactory(subscriber=SubscriberFactory(email=f"r{n}@example.org"), text="diffusion")
    KeywordFactory(subscriber=SubscriberFactory(email="other@example.org"), text="graph kernels")

    first, log = run("send_digests", "--date", "2024-03-12")
    again, _ = run("send_digests", "--date", "2024-03-12")

    assert first.strip().splitlines()[-1] == "built=3 sent=3 skipped=1 failed=0"
    assert again.strip().splitlines()[-1] == "built=0 sent=0 skipped=0 failed=0"
    assert "eager (no broker)" in log
    assert sorted(m.to[0] for m in mail.outbox) == ["r0@example.org", "r1@example.org", "r2@example.org"]
    assert Digest.objects.count() == 4


def test_send_digests_fails_and_keeps_the_digests_when_the_mail_server_is_down(settings):
    import socket

    ListingFactory(paper=PaperFactory(title="Diffusion Policies for Robots"), listed_on=dt.date(2024, 3, 12))
    KeywordFactory(subscriber=SubscriberFactory(email="r@example.org"), text="diffusion")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2

    with pytest.raises(CommandError, match=r"1 digests of 2024-03-12 are still waiting to be sent"):
        run("send_digests", "--date", "2024-03-12", "--timeout", "0.5")

    assert list(Digest.objects.values_list("status", flat=True)) == ["ready"]  # kept for the next run
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out, _ = run("send_digests", "--date", "2024-03-12")
    assert out.strip().splitlines()[-1] == "built=0 sent=1 skipped=0 failed=0"
    assert [m.to for m in mail.outbox] == [["r@example.org"]]


@pytest.mark.parametrize("bad", ["2024-02-30", "12/03/2024", "yesterday"])
def test_send_digests_refuses_a_bad_date(bad):
    with pytest.raises(CommandError, match=rf"--date '{bad}' is not a date: use YYYY-MM-DD"):
        run("send_digests", "--date", bad)
    assert not Digest.objects.exists()


def test_send_digests_exits_non_zero_on_a_bad_date_from_the_shell():
    import subprocess
    import sys

    from tests.conftest import REPO

    done = subprocess.run([sys.executable, "manage.py", "send_digests", "--date", "2024-13-01"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "--date '2024-13-01' is not a date" in done.stderr


def test_setup_schedules_installs_each_periodic_task_once():
    out, _ = run("setup_schedules")
    run("setup_schedules")

    tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    dispatch, sweep = tasks["dispatch digests"], tasks["sweep stuck digests"]
    assert dispatch.task == "subscriptions.tasks.digests_dispatch"
    assert (dispatch.crontab.minute, dispatch.crontab.hour) == ("0", "*")
    assert sweep.task == "subscriptions.tasks.digests_sweep_stuck" and sweep.crontab.minute == "*/5"
    assert "purge unconfirmed subscribers" in tasks  # D's entry, same file
    assert PeriodicTask.objects.filter(name="dispatch digests").count() == 1
    assert "schedules: created=" in out


def test_setup_schedules_puts_back_a_changed_schedule_but_keeps_it_disabled():
    run("setup_schedules")
    task = PeriodicTask.objects.get(name="dispatch digests")
    task.enabled = False
    task.task = "subscriptions.tasks.something_else"
    task.save()

    out, _ = run("setup_schedules")

    task.refresh_from_db()
    assert task.task == "subscriptions.tasks.digests_dispatch"
    assert task.enabled is False  # an operator's choice in the admin stands
    assert "updated=1" in out
