"""Digests match topics, honour each subscriber's switches, and say the form found (issue 9)."""
from __future__ import annotations

import datetime as dt

import pytest

from digests.mime import email_message
from digests.render import render_digest
from digests.selection import digest_inputs, digest_rows
from digests.services.build import digests_build
from papers.models import Paper
from papers.topics import alias_key
from subscriptions.models import Digest
from tests.factories import KeywordFactory, ListingFactory, PaperFactory, SubscriberFactory

DAY = dt.date(2024, 3, 12)

pytestmark = pytest.mark.django_db


def listed(title: str, abstract: str = "We report results.") -> Paper:
    paper = PaperFactory(title=title, abstract=abstract)
    ListingFactory(paper=paper, listed_on=DAY)
    return paper


def digest_titles(subscriber) -> list[str]:
    digest = Digest.objects.get(subscriber=subscriber, digest_date=DAY)
    by_id = dict(Paper.objects.filter(pk__in=digest.papers).values_list("id", "title"))
    return sorted(by_id[p] for p in digest.papers)


def test_a_keyword_gets_the_papers_about_its_topic_and_the_email_says_as_what():
    listed("Deep Convolutional Neural Networks for Radiology")
    listed("ResNet Strikes Back")
    listed("Summaries of CNN/DailyMail Articles")
    reader = SubscriberFactory()
    KeywordFactory(subscriber=reader, text="CNN", normalized="CNN")

    digests_build(digest_date=DAY)

    assert digest_titles(reader) == ["Deep Convolutional Neural Networks for Radiology", "ResNet Strikes Back"]
    digest = Digest.objects.get(subscriber=reader, digest_date=DAY)
    text = email_message(render_digest(digest_inputs(digest_rows(pk=digest.pk))[0])).body
    assert "matched: CNN, as “Convolutional Neural Networks”" in text
    assert "matched: CNN, as “ResNet”" in text


def test_each_subscriber_keeps_their_own_switches():
    listed("ResNet Strikes Back")
    listed("A CNN for Speech")
    everything, no_resnet = SubscriberFactory(), SubscriberFactory()
    KeywordFactory(subscriber=everything, text="CNN", normalized="CNN")
    KeywordFactory(subscriber=no_resnet, text="CNN", normalized="CNN", disabled_expansions=[alias_key("ResNet")])

    digests_build(digest_date=DAY)

    assert digest_titles(everything) == ["A CNN for Speech", "ResNet Strikes Back"]
    assert digest_titles(no_resnet) == ["A CNN for Speech"]
    digest = Digest.objects.get(subscriber=no_resnet, digest_date=DAY)
    assert list(digest.matches.values()) == [["CNN"]]  # the keyword as typed
