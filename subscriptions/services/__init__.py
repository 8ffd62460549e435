"""Every write in the subscriptions app, split by concern:

- subscribers.py: signup, confirm, preferences, unsubscribe, delete, purge
- digests.py: build, claim, send and sweep the daily digests
- digest_dispatch.py: the hourly dispatch (who is due, in every time zone)
- deliverability.py: bounces, complaints and provider events

Import from the submodule: `from subscriptions.services.subscribers import subscriber_signup`.
"""
