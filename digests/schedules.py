"""Periodic tasks of the digest pipeline; `manage.py setup_schedules` installs them.

Each entry: name, dotted task name, crontab fields (UTC).
"""
from .services.dispatch import DISPATCH_TASK
from .services.sweep import SWEEP_TASK

SCHEDULES = [
    # Digests go out at each subscriber's local send hour: every hour, the
    # subscribers whose local hour has just begun are built and enqueued.
    dict(name="dispatch digests", task=DISPATCH_TASK, crontab=dict(minute="0", hour="*")),
    # Rows of a worker that died mid-batch go back to ready (or fail if in flight).
    dict(name="sweep stuck digests", task=SWEEP_TASK, crontab=dict(minute="*/5", hour="*")),
]
