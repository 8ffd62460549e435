"""Which papers go into whose digest: windows, no repeats, weekly, who is left out, ranking."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from digests.selection import MAX_WINDOW_DAYS, Selector, keywords_distinct, window_start
from digests.services.build import digests_build
from subscriptions.models import Digest, Subscriber
from tests.digests.builders import DAY, listed, reader, titles
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def test_it_builds_a_ready_digest_with_what_matched_and_why():
    listed("Scaling Pre-Training for Speech")
    listed("A Survey of Graph Kernels")
    someone = reader("pretraining", "speech")

    counts = digests_build(digest_date=DAY)

    digest = Digest.objects.get(subscriber=someone, digest_date=DAY)
    assert (counts.built, counts.skipped) == (1, 0)
    assert digest.status == Digest.Status.READY
    assert titles(someone) == ["Scaling Pre-Training for Speech"]
    paper_id = str(digest.papers[0])
    assert sorted(digest.matches[paper_id]) == ["pretraining", "speech"]  # as they typed them
    assert "Pre-Training" in digest.terms[paper_id] and "Speech" in digest.terms[paper_id]
    assert digest.matched_count == 1
    assert Subscriber.objects.get(pk=someone.pk).last_digest_on == DAY


def test_it_marks_a_day_without_a_match_skipped():
    listed("A Survey of Graph Kernels")
    someone = reader("quantum chromodynamics")

    counts = digests_build(digest_date=DAY)

    assert (counts.built, counts.skipped) == (0, 1)
    digest = Digest.objects.get(subscriber=someone)
    assert digest.status == Digest.Status.SKIPPED and digest.papers == []


def test_it_never_offers_the_same_paper_twice_on_later_days():
    old = listed("Diffusion Policies for Robots", DAY)
    someone = reader("diffusion")
    digests_build(digest_date=DAY)
    # The next day the same paper trends again, next to a new one.
    ListingFactory(paper=old, listed_on=DAY + dt.timedelta(days=1))
    listed("Diffusion Transformers at Scale", DAY + dt.timedelta(days=1))

    digests_build(digest_date=DAY + dt.timedelta(days=1))

    assert titles(someone, DAY) == ["Diffusion Policies for Robots"]
    assert titles(someone, DAY + dt.timedelta(days=1)) == ["Diffusion Transformers at Scale"]


def test_it_keeps_papers_listed_after_the_digest_was_built_for_the_next_one():
    listed("Diffusion Policies for Robots", DAY)
    someone = reader("diffusion")
    digests_build(digest_date=DAY)
    # The day's list fills up during the day: this one arrives after the digest was built.
    listed("Latent Diffusion for Audio", DAY)

    digests_build(digest_date=DAY + dt.timedelta(days=1))

    assert titles(someone, DAY + dt.timedelta(days=1)) == ["Latent Diffusion for Audio"]


def test_it_gives_a_first_daily_digest_the_day_itself_and_a_weekly_one_the_week():
    listed("Retrieval Heads, Yesterday", DAY - dt.timedelta(days=1))
    listed("Retrieval Heads, Last Week", DAY - dt.timedelta(days=7))
    listed("Retrieval Heads, Today", DAY)
    daily = reader("retrieval")
    weekly = reader("retrieval", frequency=Subscriber.Frequency.WEEKLY, send_weekday=DAY.weekday())

    digests_build(digest_date=DAY)

    assert titles(daily) == ["Retrieval Heads, Today"]
    assert sorted(titles(weekly)) == ["Retrieval Heads, Today", "Retrieval Heads, Yesterday"]


def test_it_builds_weekly_digests_only_on_their_weekday():
    listed("Retrieval Heads Explain Factuality")
    other_day = reader("retrieval", frequency=Subscriber.Frequency.WEEKLY, send_weekday=(DAY.weekday() + 1) % 7)
    their_day = reader("retrieval", frequency=Subscriber.Frequency.WEEKLY, send_weekday=DAY.weekday())

    digests_build(digest_date=DAY)

    assert Digest.objects.filter(subscriber=their_day).count() == 1
    assert not Digest.objects.filter(subscriber=other_day).exists()


@pytest.mark.parametrize("status", ["pending", "paused", "unsubscribed", "bounced", "complained"])
def test_it_leaves_out_people_who_should_get_nothing(status):
    listed("Diffusion Policies for Robots")
    reader("diffusion", status=status)

    counts = digests_build(digest_date=DAY)

    assert (counts.built, counts.skipped) == (0, 0)
    assert not Digest.objects.exists()


def test_it_leaves_out_hidden_papers():
    listed("Diffusion Policies for Robots", is_hidden=True)
    listed("Diffusion Transformers at Scale")
    someone = reader("diffusion")

    digests_build(digest_date=DAY)

    assert titles(someone) == ["Diffusion Transformers at Scale"]


def test_it_looks_back_at_most_two_weeks_after_a_long_pause():
    listed("Diffusion, a Month Ago", DAY - dt.timedelta(days=30))
    listed("Diffusion, Ten Days Ago", DAY - dt.timedelta(days=10))
    someone = reader("diffusion", last_digest_on=DAY - dt.timedelta(days=60))

    digests_build(digest_date=DAY)

    assert titles(someone) == ["Diffusion, Ten Days Ago"]
    assert window_start(last_digest_on=DAY - dt.timedelta(days=60), digest_date=DAY, frequency="daily") == (
        DAY - dt.timedelta(days=MAX_WINDOW_DAYS))


def test_it_builds_nothing_twice():
    listed("Diffusion Policies for Robots")
    someone = reader("diffusion")

    first = digests_build(digest_date=DAY)
    second = digests_build(digest_date=DAY)
    third = digests_build(digest_date=DAY, subscriber_ids=[someone.pk])

    assert (first.built, second.built, second.skipped, third.built) == (1, 0, 0, 0)
    assert Digest.objects.filter(subscriber=someone, digest_date=DAY).count() == 1


def test_it_builds_nothing_for_a_day_before_the_last_digest():
    listed("Diffusion Policies for Robots", DAY - dt.timedelta(days=1))
    someone = reader("diffusion", last_digest_on=DAY)

    digests_build(digest_date=DAY - dt.timedelta(days=1))

    # A late backfill never reaches into a window that was already served.
    assert Digest.objects.get(subscriber=someone).status == Digest.Status.SKIPPED


def test_it_ranks_title_matches_then_shared_matches_then_trending():
    listed("Speech Recognition in the Wild", abstract="We study robust speech.")
    listed("Graph Kernels", abstract="Speech is mentioned once, in passing.", upvotes=500)
    listed("Pretraining Speech Encoders", abstract="Speech pretraining at scale.")
    listed("Speech Synthesis Without Labels", abstract="We study speech synthesis.", upvotes=300)
    someone = reader("speech", "pretraining")

    digests_build(digest_date=DAY)

    assert titles(someone) == [
        "Pretraining Speech Encoders",  # both keywords, in the title
        "Speech Synthesis Without Labels",  # title match, trending more than the next
        "Speech Recognition in the Wild",
        "Graph Kernels",  # one mention in the abstract: last, whatever its upvotes
    ]


def test_it_shows_at_most_ten_papers_and_counts_the_rest():
    for n in range(14):
        listed(f"Diffusion Study Number {n}")
    someone = reader("diffusion")

    digests_build(digest_date=DAY)

    digest = Digest.objects.get(subscriber=someone)
    assert len(digest.papers) == 10
    assert digest.matched_count == 14


def test_it_picks_the_same_top_ten_as_ranking_every_match():
    """The pruned ranking (per-keyword and per-subset tops) against ranking the whole union."""
    rng = random.Random(4)
    words = ["diffusion", "speech", "retrieval", "graph", "agents", "pretraining", "robotics", "vision"]
    for n in range(60):
        in_title = rng.sample(words, rng.randint(0, 2))
        in_abstract = rng.sample(words, rng.randint(0, 4))
        listed(f"{' '.join(w.title() for w in in_title)} Study {n}",
               abstract=" and ".join(in_abstract * rng.randint(1, 3)) + ".", upvotes=rng.randint(0, 400))
    selector = Selector(digest_date=DAY, since=DAY, keywords=words)
    for _ in range(300):
        chosen = rng.sample(words, rng.randint(1, 5))
        pairs = [(w, w) for w in chosen]
        full = selector.select(pairs, DAY, limit=None)
        exclude = frozenset(rng.sample(full.papers, min(len(full.papers), rng.randint(0, 3)))) if full else frozenset()
        top = selector.select(pairs, DAY, exclude=exclude, limit=10)
        if full is None:
            assert top is None
            continue
        expected = [p for p in full.papers if p not in exclude][:10]
        assert (top.papers if top else []) == expected, chosen
        if top:
            assert top.total == full.total - len(exclude)


@pytest.mark.django_db
def test_the_build_matches_each_keyword_once_however_many_people_share_it():
    for n in range(4):
        subscriber = SubscriberFactory(email=f"r{n}@example.org")
        KeywordFactory(subscriber=subscriber, text="Diffusion")
        KeywordFactory(subscriber=subscriber, text=f"topic {n % 2}")
    SubscriberFactory(email="quiet@example.org")

    assert sorted(keywords_distinct(Subscriber.objects.all())) == ["diffusion", "topic 0", "topic 1"]


@pytest.mark.django_db
def test_a_keyword_the_build_did_not_start_with_is_matched_when_someone_brings_it():
    # Someone confirms (or edits their keywords) while the day's build is running.
    ListingFactory(paper=PaperFactory(title="Graph Kernels for Molecules"), listed_on=DAY)
    selector = Selector(digest_date=DAY, since=DAY, keywords=["diffusion"])

    found = selector.select([("graph kernels", "graph kernels")], DAY)

    assert found is not None and found.total == 1
