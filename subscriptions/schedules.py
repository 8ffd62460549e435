"""Periodic tasks of the subscriptions app; `manage.py setup_schedules` installs them.

Each entry: name, dotted task name, crontab fields (UTC).
"""

SCHEDULES = [
    # Confirmation emails the broker never got (Redis down at signup) go out once it is back.
    dict(name="send owed confirmations", task="subscriptions.tasks.send_owed_confirmations",
         crontab=dict(minute="*/5", hour="*")),
    # Pending sign-ups never confirmed are erased after 30 days.
    dict(name="purge unconfirmed subscribers", task="subscriptions.tasks.purge_pending_subscribers",
         crontab=dict(minute="17", hour="3")),
]
