"""The trending score and the papers_trending selector: order, window, hidden papers, query count."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from papers.selectors import (
    HALF_LIFE_DAYS,
    latest_listing_date,
    listing_day_after,
    listing_day_before,
    paper_trending_scores,
    papers_trending,
    trending_score,
)
from tests.factories import ListingFactory, PaperFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 11)


def titles(papers):
    return [p.title for p in papers]


def test_it_halves_the_score_every_half_life():
    fresh = trending_score(listings=1, best_rank=1, upvotes=10, is_featured=False, age_days=0)
    old = trending_score(listings=1, best_rank=1, upvotes=10, is_featured=False, age_days=HALF_LIFE_DAYS)
    older = trending_score(listings=1, best_rank=1, upvotes=10, is_featured=False, age_days=2 * HALF_LIFE_DAYS)
    assert old == pytest.approx(fresh / 2)
    assert older == pytest.approx(fresh / 4)


def test_it_scales_upvotes_logarithmically():
    def score(upvotes):
        return trending_score(listings=1, best_rank=None, upvotes=upvotes, is_featured=False, age_days=0)

    # 10x the upvotes is worth a fixed step, not 10x the score.
    assert score(1000) - score(100) == pytest.approx(math.log2(1001) - math.log2(101))
    assert score(1000) < 3 * score(100)


def test_it_orders_a_day_by_upvotes_and_rank():
    ListingFactory(paper=PaperFactory(title="Few votes"), listed_on=DAY, rank=3, upvotes=2)
    ListingFactory(paper=PaperFactory(title="Many votes"), listed_on=DAY, rank=2, upvotes=300)
    ListingFactory(paper=PaperFactory(title="Some votes"), listed_on=DAY, rank=1, upvotes=40)

    assert titles(papers_trending(day=DAY)) == ["Many votes", "Some votes", "Few votes"]


def test_it_breaks_ties_by_rank():
    ListingFactory(paper=PaperFactory(title="Second"), listed_on=DAY, rank=2, upvotes=5)
    ListingFactory(paper=PaperFactory(title="First"), listed_on=DAY, rank=1, upvotes=5)
    papers = papers_trending(day=DAY)
    assert titles(papers) == ["First", "Second"]
    assert papers[0].trending_score > papers[1].trending_score


def test_it_lifts_a_featured_paper_above_better_voted_ones():
    ListingFactory(paper=PaperFactory(title="Popular"), listed_on=DAY, rank=1, upvotes=120)
    ListingFactory(paper=PaperFactory(title="Editor pick", is_featured=True), listed_on=DAY, rank=9, upvotes=12)

    assert titles(papers_trending(day=DAY)) == ["Editor pick", "Popular"]


def test_it_decays_older_papers_in_a_window():
    ListingFactory(paper=PaperFactory(title="Old hit"), listed_on=DAY - dt.timedelta(days=6), rank=1, upvotes=200)
    ListingFactory(paper=PaperFactory(title="Fresh"), listed_on=DAY, rank=5, upvotes=30)

    papers = papers_trending(since=DAY - dt.timedelta(days=7))
    assert titles(papers) == ["Fresh", "Old hit"]
    # Six days is three half-lives: the old paper keeps an eighth of its score.
    old = papers[1]
    undecayed = trending_score(listings=1, best_rank=1, upvotes=200, is_featured=False, age_days=0)
    assert old.trending_score == pytest.approx(undecayed / 8)


def test_it_rewards_being_listed_again():
    once = PaperFactory(title="Listed once")
    twice = PaperFactory(title="Listed twice")
    ListingFactory(paper=once, listed_on=DAY, rank=1, upvotes=10)
    ListingFactory(paper=twice, listed_on=DAY - dt.timedelta(days=1), rank=1, upvotes=10)
    ListingFactory(paper=twice, listed_on=DAY, rank=1, upvotes=10)

    assert titles(papers_trending(day=DAY)) == ["Listed twice", "Listed once"]


def test_it_excludes_hidden_papers_unless_asked():
    ListingFactory(paper=PaperFactory(title="Shown"), listed_on=DAY)
    ListingFactory(paper=PaperFactory(title="Hidden", is_hidden=True), listed_on=DAY, upvotes=999)

    assert titles(papers_trending(day=DAY)) == ["Shown"]
    assert set(titles(papers_trending(day=DAY, include_hidden=True))) == {"Shown", "Hidden"}


def test_it_ignores_listings_after_the_day_asked_for():
    paper = PaperFactory(title="Later famous")
    ListingFactory(paper=paper, listed_on=DAY, rank=4, upvotes=3)
    ListingFactory(paper=paper, listed_on=DAY + dt.timedelta(days=2), rank=1, upvotes=500, source="hf-page")

    [on_day] = papers_trending(day=DAY)
    assert on_day.upvote_count == 3
    assert on_day.listing_count == 1
    assert on_day.best_rank == 4


def test_it_lists_each_paper_once_when_two_sources_list_it():
    paper = PaperFactory(title="Everywhere")
    ListingFactory(paper=paper, listed_on=DAY, source="hf-json", rank=1)
    ListingFactory(paper=paper, listed_on=DAY, source="hf-page", rank=2)

    assert titles(papers_trending(day=DAY)) == ["Everywhere"]


def test_it_defaults_to_the_latest_listing_day_and_honours_limit():
    ListingFactory(paper=PaperFactory(title="Yesterday"), listed_on=DAY - dt.timedelta(days=1))
    for n in range(3):
        ListingFactory(paper=PaperFactory(title=f"Today {n}"), listed_on=DAY, rank=n + 1)

    assert latest_listing_date() == DAY
    assert titles(papers_trending(limit=2)) == ["Today 0", "Today 1"]


def test_it_returns_nothing_when_nothing_is_listed():
    assert latest_listing_date() is None
    assert papers_trending() == []
    assert papers_trending(since=DAY) == []


def test_it_finds_the_neighbouring_listing_days_skipping_hidden_ones():
    ListingFactory(listed_on=dt.date(2024, 3, 4))
    ListingFactory(listed_on=dt.date(2024, 3, 8), paper=PaperFactory(is_hidden=True))
    ListingFactory(listed_on=DAY)
    ListingFactory(listed_on=dt.date(2024, 3, 14))

    assert listing_day_before(DAY) == dt.date(2024, 3, 4)
    assert listing_day_after(DAY) == dt.date(2024, 3, 14)
    assert listing_day_after(dt.date(2024, 3, 14)) is None


def test_it_scores_given_papers_as_of_a_date():
    listed = PaperFactory(upvotes=7)
    ListingFactory(paper=listed, listed_on=DAY, rank=1, upvotes=3)
    unlisted = PaperFactory(published_on=DAY - dt.timedelta(days=2), upvotes=0)

    scores = paper_trending_scores(paper_ids=[listed.id, unlisted.id, 999_999], as_of=DAY)

    assert set(scores) == {listed.id, unlisted.id}
    assert scores[listed.id] == pytest.approx(
        trending_score(listings=1, best_rank=1, upvotes=7, is_featured=False, age_days=0)
    )
    # Never listed: ages from its publication date; no listings, no upvotes.
    assert scores[unlisted.id] == pytest.approx(0.0)
    later = paper_trending_scores(paper_ids=[listed.id], as_of=DAY + dt.timedelta(days=2))
    assert later[listed.id] == pytest.approx(scores[listed.id] / 2)


def test_it_scores_a_day_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    for n in range(40):
        ListingFactory(paper=PaperFactory(), listed_on=DAY, rank=n + 1, upvotes=n)

    with django_assert_max_num_queries(3):
        papers = papers_trending(day=DAY)
        assert len(papers) == 40
        assert all(len(p.listings.all()) == 1 for p in papers)
    with django_assert_max_num_queries(1):
        assert len(paper_trending_scores(paper_ids=[p.id for p in papers], as_of=DAY)) == 40
