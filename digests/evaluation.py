"""Do a reader's votes make their digest better? Simulated readers, measured.

Each simulated reader types broad keywords but cares about one topic only (a
hidden interest: the papers judged relevant to one keyword of a judged set, such
as ../shared/eval/judged_dev.json). The judged papers are spread over six
consecutive days. On days 1–5 the real build (digests_build) makes each
reader's digest; the reader votes "more like this" on the papers of their top 5
that are in their topic and "fewer like this" on the others (subscriptions'
vote service, as the vote page does). On day 6, precision at 5 (the share of
the digest's first five papers in the hidden topic) is compared with a twin
reader who has the same keywords and never votes: the keyword-only ranking.

Everything runs inside one transaction that is rolled back: nothing it creates
stays in the database. Papers live on dates in the year 2000 with their own
title keys, so they meet no real paper or listing.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from papers.models import Listing, Paper
from subscriptions.models import Digest, Subscriber
from subscriptions.services.subscribers import subscriber_create_confirmed
from subscriptions.services.votes import vote_record

from .services.build import digests_build

DAYS = 6
AT = 5  # precision at 5
FIRST_DAY = dt.date(2000, 1, 3)
DEFAULT_KEYWORDS = ("pre-training", "language models")
MIN_TOPIC = 8  # a hidden interest needs enough papers to show up on most days


class JudgedSetError(ValueError):
    """The judged file is not what evaluate_feedback reads; the message names the problem."""


@dataclass(frozen=True)
class ReaderResult:
    topic: str
    seed: int
    with_votes: float  # precision at 5 on day 6
    keyword_only: float
    votes: int


@dataclass(frozen=True)
class Evaluation:
    results: list[ReaderResult]

    @property
    def with_votes(self) -> float:
        return sum(r.with_votes for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def keyword_only(self) -> float:
        return sum(r.keyword_only for r in self.results) / len(self.results) if self.results else 0.0


def judged_set_load(path: Path) -> tuple[list[dict], dict[str, list[str]]]:
    """(papers, {keyword: relevant titles}) from a judged file; JudgedSetError naming what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgedSetError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise JudgedSetError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("papers"), list) \
            or not isinstance(data.get("labels"), dict):
        raise JudgedSetError(f"{path}: expected an object with a 'papers' list and a 'labels' object")
    papers = data["papers"]
    titles = set()
    for n, paper in enumerate(papers):
        if not isinstance(paper, dict) or not isinstance(paper.get("title"), str) or not paper["title"]:
            raise JudgedSetError(f"{path}: papers[{n}] has no title")
        titles.add(paper["title"])
    labels = {}
    for keyword, relevant in data["labels"].items():
        if not isinstance(relevant, list) or not all(t in titles for t in relevant):
            raise JudgedSetError(f"{path}: labels[{keyword!r}] names a title that is not in 'papers'")
        labels[keyword] = relevant
    return papers, labels


def feedback_evaluate(
    *, papers: list[dict], labels: dict[str, list[str]], seeds: tuple[int, ...] = (1, 2, 3),
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS, min_topic: int = MIN_TOPIC,
) -> Evaluation:
    """Run the simulation for every topic with at least `min_topic` papers, once per seed; roll it all back."""
    topics = sorted(t for t, relevant in labels.items() if len(relevant) >= min_topic)
    results: list[ReaderResult] = []
    with transaction.atomic():
        for seed in seeds:
            results += _one_run(papers, {t: frozenset(labels[t]) for t in topics}, seed, keywords)
        transaction.set_rollback(True)
    return Evaluation(results)


def _one_run(papers: list[dict], topics: dict[str, frozenset[str]], seed: int, keywords) -> list[ReaderResult]:
    rng = random.Random(seed)
    order = list(range(len(papers)))
    rng.shuffle(order)
    first = FIRST_DAY + dt.timedelta(days=10 * seed)  # each run on its own dates
    days = [first + dt.timedelta(days=d) for d in range(DAYS)]
    title_of: dict[int, str] = {}
    for position, index in enumerate(order):
        record = papers[index]
        paper = Paper.objects.create(title=record["title"], abstract=record.get("abstract", ""),
                                     title_key=f"feedback-eval:{seed}:{index}")
        title_of[paper.pk] = record["title"]
        day = days[position * DAYS // len(order)]
        Listing.objects.create(paper=paper, listed_on=day, source=Listing.Source.HF_PAGE, rank=rng.randint(1, 30))
    readers: dict[str, tuple[Subscriber, Subscriber]] = {}
    for n, topic in enumerate(topics):
        pair = tuple(_reader(f"eval-{seed}-{n}-{kind}@feedback.invalid", keywords) for kind in ("votes", "plain"))
        readers[topic] = pair
    ids = [s.pk for pair in readers.values() for s in pair]
    votes = dict.fromkeys(topics, 0)
    for day in days[:-1]:
        digests_build(digest_date=day, subscriber_ids=ids)
        for topic, (voter, _) in readers.items():
            for pid in _top(voter, day):
                relevant = title_of[pid] in topics[topic]
                vote_record(subscriber_id=voter.pk, paper_id=pid, value=1 if relevant else -1)
                votes[topic] += 1
    digests_build(digest_date=days[-1], subscriber_ids=ids)
    results = []
    for topic, (voter, plain) in readers.items():
        results.append(ReaderResult(
            topic=topic, seed=seed, votes=votes[topic],
            with_votes=_precision(_top(voter, days[-1]), title_of, topics[topic]),
            keyword_only=_precision(_top(plain, days[-1]), title_of, topics[topic]),
        ))
    return results


def _reader(email: str, keywords) -> Subscriber:
    return subscriber_create_confirmed(email=email, keywords=keywords)


def _top(subscriber: Subscriber, day: dt.date) -> list[int]:
    row = Digest.objects.filter(subscriber=subscriber, digest_date=day).first()
    return list(row.papers[:AT]) if row else []


def _precision(shown: list[int], title_of: dict[int, str], relevant: frozenset[str]) -> float:
    return sum(1 for pid in shown if title_of[pid] in relevant) / AT
