"""The daily digest pipeline: select, render, send and sweep (docs/architecture.md).

Its one table is `subscriptions.Digest` (the data-model contract keeps that
name), so this app has no models of its own. It imports papers and
subscriptions; neither imports it.
"""
