"""What a reader's own settings do to their digest, through the real build and send:
the trending list, "plus the top 3", words to keep out, followed authors, votes, and
what the email then says (reasons, one-line summaries, vote links)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client

from digests.services.build import digests_build
from digests.services.day import digests_run_day
from papers.models import Paper
from subscriptions.models import Digest, Exclusion, FollowedAuthor, Subscriber, Vote
from tests.digests.builders import DAY, listed, reader, titles
from tests.factories import DailyNoteFactory

pytestmark = pytest.mark.django_db

Trending = Subscriber.Trending


@pytest.fixture
def day():
    """Twelve papers on the day, upvotes falling with the number; two about diffusion."""
    made = [listed(f"Trending Paper {n}", upvotes=200 - 10 * n) for n in range(12)]
    made.append(listed("Diffusion Models for Proteins", abstract="Protein design with diffusion.", upvotes=5))
    made.append(listed("A Survey of Diffusion Models", abstract="We review diffusion models.", upvotes=4))
    return made


def test_the_trending_list_alone_is_the_days_top_10(day):
    someone = reader(trending=Trending.ONLY)
    digests_build(digest_date=DAY)
    assert titles(someone) == [f"Trending Paper {n}" for n in range(10)]
    digest = Digest.objects.get(subscriber=someone)
    assert set(digest.reasons.values()) == {"trending"}


def test_plus_the_top_3_comes_after_the_matches(day):
    someone = reader("diffusion", trending=Trending.TOP3)
    plain = reader("diffusion")
    digests_build(digest_date=DAY)
    assert titles(someone) == ["Diffusion Models for Proteins", "A Survey of Diffusion Models",
                               "Trending Paper 0", "Trending Paper 1", "Trending Paper 2"]
    assert titles(plain) == ["Diffusion Models for Proteins", "A Survey of Diffusion Models"]


def test_words_to_keep_out_remove_matches_and_trending_picks(day):
    someone = reader("diffusion", trending=Trending.TOP3)
    Exclusion.objects.create(subscriber=someone, text="surveys", normalized="surveys")
    Exclusion.objects.create(subscriber=someone, text="Paper 1", normalized="paper 1")
    digests_build(digest_date=DAY)
    assert titles(someone) == ["Diffusion Models for Proteins", "Trending Paper 0", "Trending Paper 2",
                               "Trending Paper 3"]


def test_followed_authors_come_first_with_their_reason(day):
    by_her = listed("Graph Kernels Revisited", authors=["José García", "Ada Lovelace"], upvotes=1)
    listed("Unrelated Work", authors=["Josefine Garcian"], upvotes=0)
    someone = reader("diffusion")
    FollowedAuthor.objects.create(subscriber=someone, name="J. Garcia", key="j garcia")
    digests_build(digest_date=DAY)
    assert titles(someone)[0] == "Graph Kernels Revisited"
    assert titles(someone)[1:] == ["Diffusion Models for Proteins", "A Survey of Diffusion Models"]
    assert Digest.objects.get(subscriber=someone).reasons == {str(by_her.id): "author:J. Garcia"}


def test_votes_move_similar_papers_up_and_near_copies_of_fewer_out():
    for n in range(3):
        listed(f"Language Models for Protein Folding {n}", abstract="Protein folding with protein language models.",
               upvotes=0)
        listed(f"Language Models for Legal Contracts {n}", abstract="Legal contract review with language models.",
               upvotes=50)
    liked = listed("Protein Language Models", abstract="Protein folding and protein language models.",
                   day=DAY - dt.timedelta(days=3))
    disliked = listed("Legal Language Models", abstract="Legal contract review with language models.",
                      day=DAY - dt.timedelta(days=3))
    voter, plain = reader("language models"), reader("language models")
    Vote.objects.create(subscriber=voter, paper=liked, value=1)
    Vote.objects.create(subscriber=voter, paper=disliked, value=-1)
    digests_build(digest_date=DAY)
    assert titles(plain)[0].startswith("Language Models for Legal Contracts")  # the trending ones
    # Liked-alike papers first; the near-copies of the paper voted "fewer" are left out.
    assert sorted(titles(voter)) == [f"Language Models for Protein Folding {n}" for n in range(3)]


def test_the_email_says_why_shows_the_summary_and_links_votes(settings, day):
    settings.SITE_URL = "https://papers.example"
    DailyNoteFactory(date=DAY, body="A **good** day.")
    Paper.objects.filter(title="Trending Paper 0").update(ai_summary="The one-line gist.")
    someone = reader(trending=Trending.ONLY)
    digests_run_day(digest_date=DAY)
    [message] = mail.outbox
    assert "The day’s top 10 trending papers" in message.subject
    assert "(trending today)" in message.body and "In one line: The one-line gist." in message.body
    assert "A good day." in message.body or "good" in message.body  # the editor's note
    # A trending-list reader has no keywords: the lede must not speak of them.
    assert "What the research community is reading today" in message.body
    assert "match your keywords" not in message.body
    html = message.alternatives[0][0]
    assert "trending today" in html and "In one line: The one-line gist." in html
    links = re.findall(r"More like this: (\S+)", message.body)
    assert len(links) == 10
    path = links[0].removeprefix("https://papers.example")
    assert f'href="{links[0]}"' in html
    # The link is this reader's: the GET shows a button, the POST records the vote.
    client = Client()
    assert client.get(path).status_code == 200 and not Vote.objects.exists()
    client.post(path)
    assert Vote.objects.get().subscriber_id == someone.pk
    # The same signed token as "view in browser": nothing more to sign per email.
    token = path.split("/")[2]
    assert f"/digest/{token}/" in message.body


def test_readers_without_settings_are_untouched(day):
    someone = reader("diffusion")
    digests_build(digest_date=DAY)
    digest = Digest.objects.get(subscriber=someone)
    assert digest.reasons == {}
    assert titles(someone) == ["Diffusion Models for Proteins", "A Survey of Diffusion Models"]
