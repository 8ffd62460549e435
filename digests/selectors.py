"""Reads of the digest pipeline that more than one caller needs."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count

from subscriptions.models import Digest


def digests_status_counts(digest_date: dt.date) -> dict[str, int]:
    """How many Digest rows of the date are in each status, and their "total"."""
    counts = dict(Digest.objects.filter(digest_date=digest_date).order_by().values_list("status")
                  .annotate(n=Count("id")))
    return {**{s: counts.get(s, 0) for s in Digest.Status.values}, "total": sum(counts.values())}
