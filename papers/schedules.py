"""Periodic tasks of the papers app; `manage.py setup_schedules` installs them (times in UTC).

Editable afterwards in the admin (Periodic tasks); "Fetch papers now" runs one at once.
"""

SCHEDULES = [
    # Hugging Face's daily list fills up during the day and upvotes keep moving:
    # fetch every two hours (each run also refreshes yesterday's final counts).
    dict(name="fetch Hugging Face daily papers", task="papers.tasks.fetch_hf_daily_papers",
         crontab=dict(minute="10", hour="*/2")),
    # arXiv announces new submissions once a day, around 00:00 UTC (Sunday to Thursday).
    dict(name="fetch new arXiv papers", task="papers.tasks.fetch_arxiv_papers",
         crontab=dict(minute="40", hour="1")),
]
