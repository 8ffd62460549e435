"""Factories for every model; tests build what they need, nothing more."""
from __future__ import annotations

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from papers.models import DailyNote, Listing, Paper
from papers.parsers import title_key
from papers.search_index import search_index_update
from subscriptions.models import Digest, Keyword, Subscriber


class PaperFactory(DjangoModelFactory):
    class Meta:
        model = Paper
        skip_postgeneration_save = True

    arxiv_id = factory.Sequence(lambda n: f"2401.{n:05d}")
    title = factory.Sequence(lambda n: f"A Study of Things, Part {n}")
    title_key = factory.LazyAttribute(lambda o: title_key(o.title))
    abstract = "We study things and find that they matter."
    authors = factory.LazyFunction(lambda: ["Ada Lovelace", "Alan Turing"])
    published_on = factory.LazyFunction(lambda: dt.date(2024, 3, 11))

    @factory.post_generation
    def search_entry(paper, create, extracted, **kwargs):
        # What the import and the admin do after writing a paper: index it for search
        # (search_entry=False when a listing made right after re-indexes it anyway).
        if create and extracted is not False:
            search_index_update(paper_ids=[paper.id])


class ListingFactory(DjangoModelFactory):
    class Meta:
        model = Listing
        skip_postgeneration_save = True

    paper = factory.SubFactory(PaperFactory, search_entry=False)
    listed_on = factory.LazyFunction(lambda: dt.date(2024, 3, 11))
    source = Listing.Source.HF_JSON
    rank = factory.Sequence(lambda n: n + 1)
    upvotes = 0

    @factory.post_generation
    def search_entry(listing, create, extracted, **kwargs):
        # A listing moves its paper's trending rank and its preview window: re-index it, as imports do.
        if create:
            search_index_update(paper_ids=[listing.paper_id])


class DailyNoteFactory(DjangoModelFactory):
    class Meta:
        model = DailyNote

    date = factory.LazyFunction(lambda: dt.date(2024, 3, 11))
    body = "A **good** day for papers."


class SubscriberFactory(DjangoModelFactory):
    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    status = Subscriber.Status.ACTIVE
    confirmed_at = factory.LazyFunction(lambda: dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    # A pending sign-up is owed its confirmation email, as subscriber_signup leaves it.
    confirmation_due_at = factory.LazyAttribute(
        lambda o: dt.datetime(2024, 3, 1, tzinfo=dt.UTC) if o.status == Subscriber.Status.PENDING else None
    )


def _normalized(text: str) -> str:
    from papers.search import normalize_keyword

    return normalize_keyword(text)


class KeywordFactory(DjangoModelFactory):
    class Meta:
        model = Keyword

    subscriber = factory.SubFactory(SubscriberFactory)
    text = "pretraining"
    normalized = factory.LazyAttribute(lambda o: _normalized(o.text))


class DigestFactory(DjangoModelFactory):
    class Meta:
        model = Digest

    subscriber = factory.SubFactory(SubscriberFactory)
    digest_date = factory.LazyFunction(lambda: dt.date(2024, 3, 12))
    status = Digest.Status.READY
