"""The public site: today's trending papers, the archive by day, a page per paper, search."""
from __future__ import annotations

import datetime as dt
from itertools import groupby

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe
from django_ratelimit.decorators import ratelimit

from .concepts import paper_concepts
from .forms import SearchForm
from .models import DailyNote, Listing, Paper
from .search import KeywordError
from .search_results import MAX_CHECKED, SearchTooBroad, papers_search
from .selectors import (
    latest_listing_date,
    listing_day_after,
    listing_day_before,
    paper_trending_days,
    papers_trending,
)

SEARCH_PAGE_SIZE = 20
# Past this page a search verifies more candidates than one request may (search_results.MAX_CHECKED).
SEARCH_MAX_PAGE = MAX_CHECKED // SEARCH_PAGE_SIZE
# Per IP: a person pages through results; a script hammering the index gets a 429.
RATE_SEARCH = "60/m"
ARCHIVE_PAGE_SIZE = 60


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return _day_page(request, latest_listing_date(), is_home=True)


@require_safe
def day(request: HttpRequest, day: dt.date) -> HttpResponse:
    return _day_page(request, day, is_home=False)


def _day_page(request: HttpRequest, day: dt.date | None, *, is_home: bool) -> HttpResponse:
    papers = papers_trending(day=day) if day else []
    note = DailyNote.objects.filter(date=day).first() if day else None
    # A day with a note but no listing (a weekend) still has a page: the digest links to it.
    if not papers and note is None and not is_home:
        raise Http404("No papers were listed on that day.")
    return render(
        request,
        "papers/day.html",
        {
            "day": day,
            "is_home": is_home,
            "papers": papers,
            "note": note,
            "previous_day": listing_day_before(day) if day else None,
            "next_day": listing_day_after(day) if day else None,
        },
    )


@require_safe
def archive(request: HttpRequest) -> HttpResponse:
    days = (
        Listing.objects.filter(paper__is_hidden=False)
        .values("listed_on")
        .annotate(papers=Count("paper", distinct=True))
        .order_by("-listed_on")
    )
    page = Paginator(days, ARCHIVE_PAGE_SIZE).get_page(request.GET.get("page"))
    months = [(month, list(rows)) for month, rows in groupby(page, key=lambda r: r["listed_on"].replace(day=1))]
    return render(request, "papers/archive.html", {"page": page, "months": months})


@require_safe
def paper_detail(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper = get_object_or_404(
        Paper.objects.filter(is_hidden=False).prefetch_related(
            Prefetch("listings", queryset=Listing.objects.order_by("-listed_on", "rank"))
        ),
        pk=paper_id,
    )
    listings = list(paper.listings.all())
    upvotes = max([paper.upvotes] + [listing.upvotes for listing in listings])
    return render(request, "papers/paper.html", {
        "paper": paper,
        "trending_days": paper_trending_days(paper=paper, listings=listings),
        "upvotes": upvotes,
        "concepts": paper_concepts(paper),
    })


@require_safe
@ratelimit(key="ip", rate=RATE_SEARCH, group="papers.search")
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    context: dict = {"form": form, "query": request.GET.get("q", "").strip()[:200], "results": None}
    if form.is_bound and form.is_valid():
        try:
            page = min(max(int(request.GET.get("page", 1)), 1), SEARCH_MAX_PAGE)
        except ValueError:
            page = 1
        try:
            context["results"] = papers_search(form.cleaned_data["q"], page=page, page_size=SEARCH_PAGE_SIZE)
        except KeywordError as exc:
            # Nothing searchable in it, or too long; the message is written for the person who typed it.
            context["query_error"] = str(exc)
        except SearchTooBroad as exc:
            context["too_broad"] = str(exc)
    return render(request, "papers/search.html", context)
