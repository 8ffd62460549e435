"""Redis down during signup (issue 11, fault figures): the signup is kept, its confirmation email goes
out once Redis is back, exactly once.

Real parts: the app under gunicorn, a Redis of our own that we stop and start
(never the machine's shared one), a Celery worker, an aiosmtpd SMTP server.
"""
from __future__ import annotations

import time

import pytest

from subscriptions.models import Subscriber
from tests.digests.conftest import WorkerProcess, smtp_sink, worker_database_url  # noqa: F401 - a fixture
from tests.ops.private_services import RedisServer
from tests.ops.running_app import RunningApp, app_env, signup_storm

pytestmark = pytest.mark.integration

SWEEP = "subscriptions.tasks.send_owed_confirmations"


def _send(broker_url: str, name: str, **kwargs) -> None:
    """Put a task on the broker by name, as beat does."""
    from celery import Celery

    producer = Celery("fault-producer", broker=broker_url, set_as_current=False)
    try:
        producer.send_task(name, kwargs=kwargs)
    finally:
        producer.close()


def _wait_for(worker: WorkerProcess, task: str, runs: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while worker.succeeded(task) < runs:
        if time.monotonic() > deadline:
            pytest.fail(f"{task} ran {worker.succeeded(task)} times, expected {runs}:\n{worker.log()}")
        time.sleep(0.2)


def test_a_signup_while_redis_is_down_is_confirmed_once_redis_is_back(transactional_db, smtp_sink, tmp_path):  # noqa: F811
    redis = RedisServer(tmp_path / "redis").start()
    env = app_env(DATABASE_URL=worker_database_url(), CELERY_BROKER_URL=redis.url, EMAIL_URL=smtp_sink.url,
                  VAR_DIR=str(tmp_path / "var"))
    app = worker = None
    try:
        app = RunningApp.start("gunicorn", env, tmp_path / "gunicorn.log", workers=1)
        redis.stop()

        # What the reader sees: the usual "check your inbox", not an error page.
        assert signup_storm(app, ["ada@example.org"]) == [302], app.log()
        ada = Subscriber.objects.get(email="ada@example.org")
        assert ada.status == "pending" and ada.confirmation_due_at is not None
        assert [k.text for k in ada.keywords.all()] == ["diffusion", "retrieval"]
        assert smtp_sink.messages == []

        redis.start()
        worker = WorkerProcess(env=env, log_path=tmp_path / "worker.log", concurrency=1).wait_ready()
        _send(redis.url, SWEEP, older_than_seconds=0)  # beat's run, without its 5-minute wait
        smtp_sink.wait_for(1, timeout=60, why=f"after Redis came back\n{worker.log()}")
        # Beat runs the sweeper again (twice, here): nothing is owed any more, nothing is sent.
        _send(redis.url, SWEEP, older_than_seconds=0)
        _send(redis.url, SWEEP, older_than_seconds=0)
        _wait_for(worker, SWEEP, 3)
        time.sleep(1)
    finally:
        for part in (app, worker, redis):
            if part is not None:
                part.stop()
    assert smtp_sink.recipients() == {"ada@example.org": 1}
    assert "Confirm" in smtp_sink.messages[0].subject
    ada.refresh_from_db()
    assert ada.confirmation_due_at is None
