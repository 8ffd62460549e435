"""The public Atom feed of the trending lists: /feed/.

One entry per paper on the latest FEED_DAYS listing days (the top FEED_PER_DAY of
each day's trending list), newest day first; a paper listed on several of those
days appears once, on its latest. Built with django.contrib.syndication, so the
XML (escaping, dates, ids) is Django's, not ours.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .latex import latex_to_text
from .models import DailyNote, Listing, Paper
from .selectors import papers_trending

FEED_DAYS = 7
FEED_PER_DAY = 10


def _aware(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)


class PaperFeed(Feed):
    """What every feed of ours says of a paper: its readable title, its page, its authors."""

    feed_type = Atom1Feed
    author_name = "Trending Papers"

    def item_title(self, paper: Paper) -> str:
        return latex_to_text(paper.title) or f"arXiv:{paper.arxiv_id}"

    def item_link(self, paper: Paper) -> str:
        return settings.SITE_URL + reverse("papers:paper", args=[paper.id])

    def item_author_name(self, paper: Paper) -> str:
        return ", ".join(a for a in (paper.authors or [])[:10] if isinstance(a, str))


class TrendingFeed(PaperFeed):
    title = "Trending Papers: the day’s trending research papers"
    subtitle = f"The top {FEED_PER_DAY} trending papers of each day, with the editor’s note."

    def link(self) -> str:
        return settings.SITE_URL + reverse("papers:home")

    def feed_url(self) -> str:
        return settings.SITE_URL + reverse("papers:feed")

    def items(self) -> list[Paper]:
        days = list(Listing.objects.filter(paper__is_hidden=False).order_by("-listed_on")
                    .values_list("listed_on", flat=True).distinct()[:FEED_DAYS])
        notes = dict(DailyNote.objects.filter(date__in=days).values_list("date", "body"))
        seen: set[int] = set()
        entries = []
        for day in days:
            for place, paper in enumerate(papers_trending(day=day, limit=FEED_PER_DAY), start=1):
                if paper.id in seen:
                    continue
                seen.add(paper.id)
                paper.feed_day, paper.feed_place, paper.feed_note = day, place, notes.get(day, "")
                entries.append(paper)
        return entries

    def item_description(self, paper: Paper) -> str:
        parts = [f"#{paper.feed_place} trending on {paper.feed_day:%B} {paper.feed_day.day}, {paper.feed_day.year}."]
        if paper.feed_place == 1 and paper.feed_note:
            parts.append(f"Editor’s note: {paper.feed_note}")
        if paper.ai_summary:
            parts.append(paper.ai_summary)
        parts.append(latex_to_text(paper.abstract))
        return "\n\n".join(p for p in parts if p)

    def item_guid(self, paper: Paper) -> str:
        return self.item_link(paper)

    def item_pubdate(self, paper: Paper) -> dt.datetime:
        return _aware(paper.feed_day)

    def item_updateddate(self, paper: Paper) -> dt.datetime:
        return paper.updated_at
