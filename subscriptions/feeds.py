"""A reader's own Atom feed: the papers of their recent digests, at a signed URL.

The URL is on the manage page; "sign out everywhere" revokes it (the token
carries the subscriber's token_version). A bad or revoked token is a 404, so
a feed reader stops polling a feed that is gone. Built with
django.contrib.syndication: the XML is Django's.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import reverse

from papers.feeds import PaperFeed
from papers.latex import latex_to_text
from papers.models import Paper

from .models import Digest, Subscriber
from .tokens import TokenError, subscriber_from_token

FEED_DIGESTS = 30  # the latest digests a feed shows


class DigestFeed(PaperFeed):

    def get_object(self, request: HttpRequest, token: str) -> Subscriber:
        try:
            subscriber, _ = subscriber_from_token(token, purpose="feed")
        except TokenError:
            raise Http404("This feed does not exist (or its link was turned off).") from None
        subscriber.feed_token = token
        return subscriber

    def title(self, subscriber: Subscriber) -> str:
        return "Your Trending Papers digest"

    def subtitle(self, subscriber: Subscriber) -> str:
        keywords = ", ".join(subscriber.keywords.values_list("text", flat=True))
        if subscriber.trending == Subscriber.Trending.ONLY or not keywords:
            return "The day’s top trending papers."
        return f"New papers about {keywords}."

    def link(self, subscriber: Subscriber) -> str:
        return settings.SITE_URL + reverse("papers:home")

    def feed_url(self, subscriber: Subscriber) -> str:
        return settings.SITE_URL + reverse("subscriptions:feed", args=[subscriber.feed_token])

    def items(self, subscriber: Subscriber) -> list[Paper]:
        digests = list(
            Digest.objects.filter(subscriber=subscriber)
            .exclude(status=Digest.Status.SKIPPED).order_by("-digest_date")[:FEED_DIGESTS]
        )
        papers = Paper.objects.filter(pk__in={p for d in digests for p in d.papers}, is_hidden=False).in_bulk()
        entries = []
        for digest in digests:
            for pid in digest.papers:
                paper = papers.get(pid)
                if paper is None:
                    continue
                # The same Paper can be in two digests (a trending pick, then a match): copies keep both dates.
                entry = Paper(**{f.attname: getattr(paper, f.attname) for f in Paper._meta.concrete_fields})
                entry.digest_date = digest.digest_date
                entry.matched = digest.matches.get(str(pid), [])
                entries.append(entry)
        return entries

    def item_description(self, paper: Paper) -> str:
        parts = []
        if paper.matched:
            parts.append("Matches " + ", ".join(paper.matched) + ".")
        if paper.ai_summary:
            parts.append(paper.ai_summary)
        parts.append(latex_to_text(paper.abstract))
        return "\n\n".join(p for p in parts if p)

    def item_guid(self, paper: Paper) -> str:
        return f"{self.item_link(paper)}#digest-{paper.digest_date.isoformat()}"

    def item_pubdate(self, paper: Paper) -> dt.datetime:
        return dt.datetime.combine(paper.digest_date, dt.time(0, 0), tzinfo=dt.UTC)

    def item_updateddate(self, paper: Paper) -> dt.datetime:
        return paper.updated_at
