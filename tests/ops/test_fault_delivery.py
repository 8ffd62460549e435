"""Faults while the day's digests are being sent (issue 11, fault figures): the mail server refusing
mid-batch (421 and close, 451), and PostgreSQL restarted mid-send. After recovery every due reader
has exactly one message at the server; none is lost, none doubled.

Real parts: Celery workers on Redis, an aiosmtpd server, `manage.py send_digests`; for the restart a
private PostgreSQL cluster of our own (never the machine's shared server), started and restarted by
this test. The SIGKILLed worker is tests/digests/test_delivery_integration.py's.
"""
from __future__ import annotations

import subprocess

import pytest

from subscriptions.models import Digest
from tests.digests.conftest import broker_url, delivery, smtp_sink  # noqa: F401 - fixtures
from tests.digests.test_delivery_integration import DAY, assert_each_got_one, counts_of, seed_day
from tests.ops.running_app import app_env

pytestmark = pytest.mark.integration


def test_a_421_and_a_451_mid_batch_are_retried_and_each_reader_gets_one(delivery):  # noqa: F811
    # With PIPELINING, as Postfix offers it (test_delivery_integration covers both dialogues for a 451).
    due = seed_day(12)
    handler = delivery.sink.handler
    handler.refuse_nth = {4: "421 4.7.0 Too many messages, closing connection",
                          9: "451 4.3.0 Error: queue file write error, try again later"}
    delivery.start_worker()

    counts = counts_of(delivery.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "90", timeout=150))

    assert [r.code for r in handler.refusals] == [421, 451], "the server should have refused twice mid-batch"
    assert counts["sent"] == 12 and counts["failed"] == 0
    assert_each_got_one(delivery, due)
    refused = {r.rcpt_tos[0] for r in handler.refusals}
    assert all(d.attempts >= 2 for d in Digest.objects.filter(subscriber__email__in=refused, digest_date=DAY))


def test_postgresql_restarted_mid_send_loses_and_doubles_nothing(broker_url, smtp_sink, tmp_path):  # noqa: F811
    import psycopg

    from tests.digests.conftest import Delivery
    from tests.ops.private_services import PostgresCluster

    cluster = PostgresCluster().start()
    d = None
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE digest")
        env = {**app_env(), "DATABASE_URL": cluster.url("digest"), "CELERY_BROKER_URL": broker_url,
               "EMAIL_URL": smtp_sink.url, "VAR_DIR": str(tmp_path / "var")}
        d = Delivery(env=env, sink=smtp_sink, tmp=tmp_path)
        for args in (["migrate", "-v0"], ["shell", "-c", SEED]):
            done = d.manage(*args, timeout=240)
            assert done.returncode == 0, done.stdout + done.stderr
        due = sorted(word for word in done.stdout.split() if "@" in word)
        assert len(due) == 40

        smtp_sink.handler.reply_delay = 0.05  # a slow server, so the restart lands mid-batch
        d.start_worker(concurrency=1)
        run = d.manage_background("send_digests", "--date", DAY.isoformat(), "--timeout", "120")
        smtp_sink.wait_for(10, timeout=90, why=f"before the restart\n{d.worker_logs()}")
        cluster.restart()
        at_restart = len(smtp_sink.messages)
        try:  # it may fail (its connection died) or finish: either way the operator reruns it
            run.wait(timeout=150)
        except subprocess.TimeoutExpired:
            run.terminate()
            run.wait(timeout=10)
        smtp_sink.handler.reply_delay = 0

        # Recovery as in production: the sweeper (beat, every 5 minutes) settles the dead batch's
        # rows, and the next send_digests run (or the sweeper's own re-enqueue) sends the rest.
        sweep = d.manage("shell", "-c", "from digests.services.sweep import digests_sweep_stuck as s; "
                         "import datetime as dt; print(s(older_than=dt.timedelta(0)))")
        assert sweep.returncode == 0, sweep.stderr
        again = d.manage("send_digests", "--date", DAY.isoformat(), "--timeout", "90", timeout=150)
        assert again.returncode == 0, again.stdout + again.stderr + d.worker_logs()

        with psycopg.connect(cluster.url("digest")) as db:
            rows = db.execute(
                "SELECT s.email, d.status, d.error FROM subscriptions_digest d "
                "JOIN subscriptions_subscriber s ON s.id = d.subscriber_id WHERE d.digest_date = %s", [DAY]
            ).fetchall()
    finally:
        if d is not None:
            for worker in d.workers:
                worker.stop()
        cluster.stop()

    assert 10 <= at_restart < 40, f"the restart did not land mid-send ({at_restart} of 40 delivered)"
    received = smtp_sink.recipients()
    assert max(received.values()) == 1, f"someone got two: {received.most_common(3)}"
    assert sorted(received) == due, f"lost: {set(due) - set(received)}"
    status = {email: (state, error) for email, state, error in rows if email in due}
    assert sorted(status) == due, "not one Digest row per due reader"
    # The message in flight when the database went away reached the server, but its outcome could
    # not be recorded: the sweeper marks that row failed rather than risk sending it twice.
    in_doubt = {e: v for e, v in status.items() if v[0] != "sent"}
    assert len(in_doubt) <= 1 and all(state == "failed" and error for state, error in in_doubt.values()), in_doubt
    print(f"PostgreSQL restart: {at_restart} delivered before it, {len(due)} after recovery, in doubt: {in_doubt}")


SEED = "from tests.digests.test_delivery_integration import seed_day; print(' '.join(seed_day(40)))"
