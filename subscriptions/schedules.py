"""Periodic tasks of the subscriptions app; `manage.py setup_schedules` installs them.

Each entry: name, dotted task name, crontab fields (UTC).
"""

SCHEDULES = [
    # Pending sign-ups never confirmed are erased after 30 days.
    dict(name="purge unconfirmed subscribers", task="subscriptions.tasks.purge_pending_subscribers",
         crontab=dict(minute="17", hour="3")),
]
