"""Thin periodic tasks: fetch the network sources (papers/sources.py). Scheduled by papers/schedules.py.

No autoretry: each fetch already retries its HTTP request with backoff, a
failed fetch changes nothing, and the next scheduled run tries again.
"""
from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from papers import sources

logger = logging.getLogger(__name__)


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@shared_task(bind=True, acks_late=True)
def fetch_hf_daily_papers(self, day: str | None = None) -> list[dict]:
    """One day's list (ISO date), or by default today's and yesterday's: yesterday's upvotes settle after it ends."""
    if day:
        days = [_day(day)]
    else:
        today = dt.datetime.now(dt.UTC).date()
        days = [today - dt.timedelta(days=1), today]
    results = [sources.papers_fetch_hf_daily(day=d).as_dict() for d in days]
    _log(self, "papers.fetch_hf_daily_papers", results)
    return results


@shared_task(bind=True, acks_late=True)
def fetch_arxiv_papers(self, query: str | None = None, max_results: int | None = None) -> list[dict]:
    results = [sources.papers_fetch_arxiv(query=query, max_results=max_results).as_dict()]
    _log(self, "papers.fetch_arxiv_papers", results)
    return results


def _log(task, name: str, results: list[dict]) -> None:
    totals = {k: sum(r[k] for r in results) for k in ("created", "updated", "unchanged", "skipped")}
    failed = sum(1 for r in results if r["error"])
    logger.info(
        "task=%s task_id=%s fetches=%d failed=%d created=%d updated=%d unchanged=%d skipped=%d",
        name, task.request.id, len(results), failed, *totals.values(),
    )
