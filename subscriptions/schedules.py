"""Periodic tasks of the subscriptions app; `manage.py setup_schedules` installs them.

Each entry: name, dotted task name, crontab fields (UTC).
"""

SCHEDULES = [
    # Digests go out at each subscriber's local send hour: every hour, the
    # subscribers whose local hour has just begun are built and enqueued.
    dict(name="dispatch digests", task="subscriptions.tasks.digests_dispatch",
         crontab=dict(minute="0", hour="*")),
    # Rows of a worker that died mid-batch go back to ready (or fail if in flight).
    dict(name="sweep stuck digests", task="subscriptions.tasks.digests_sweep_stuck",
         crontab=dict(minute="*/5", hour="*")),
    # Confirmation emails the broker never got (Redis down at signup) go out once it is back.
    dict(name="send owed confirmations", task="subscriptions.tasks.send_owed_confirmations",
         crontab=dict(minute="*/5", hour="*")),
    # Pending sign-ups never confirmed are erased after 30 days.
    dict(name="purge unconfirmed subscribers", task="subscriptions.tasks.purge_pending_subscribers",
         crontab=dict(minute="17", hour="3")),
]
