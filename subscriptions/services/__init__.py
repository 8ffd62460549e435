"""Every write in the subscriptions app, split by concern:

- subscribers.py: signup, confirm, preferences, unsubscribe, delete, purge
- deliverability.py: bounces, complaints and provider events

The digest pipeline's writes (build, send, dispatch, sweep) are in digests/services/.
Import from the submodule: `from subscriptions.services.subscribers import subscriber_signup`.
"""
