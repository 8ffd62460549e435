"""HTTP for "more like this" / "fewer like this": the links on every paper of a digest.

The links carry the digest's signed token (the one of "view in browser"), so
they need no login and cost the email nothing more to make. Mail scanners open
every link: a GET only shows a page with one button; the POST records the vote,
says what it changes, and offers to undo it.
"""
from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from papers.models import Listing, Paper

from .feedback import papers_like
from .models import Subscriber, Vote
from .services.votes import vote_record, vote_undo
from .tokens import TokenError, subscriber_from_token, subscriber_token
from .views import bad_link

DIRECTIONS = {"more": Vote.Value.MORE, "fewer": Vote.Value.FEWER}
LIKE_WINDOW = dt.timedelta(days=14)


def _reader(request: HttpRequest, token: str) -> Subscriber | HttpResponse:
    try:
        return subscriber_from_token(token, purpose="digest")[0]
    except TokenError as exc:
        return bad_link(request, exc, "digest")


@require_http_methods(["GET", "POST"])
def vote(request: HttpRequest, token: str, paper_id: int, direction: str) -> HttpResponse:
    if direction not in DIRECTIONS:
        raise Http404("No such vote.")
    reader = _reader(request, token)
    if isinstance(reader, HttpResponse):
        return reader
    paper = get_object_or_404(Paper, pk=paper_id, is_hidden=False)
    value = DIRECTIONS[direction]
    context = {"paper": paper, "direction": direction, "token": token, "subscriber": reader}
    if request.method == "GET":
        return render(request, "subscriptions/vote_confirm.html", context)
    vote_record(subscriber_id=reader.pk, paper_id=paper.pk, value=value)
    recent = Listing.objects.filter(listed_on__gte=dt.date.today() - LIKE_WINDOW, paper__is_hidden=False)
    like = papers_like(paper.pk, recent.values_list("paper_id", flat=True).distinct()[:2000])
    like_papers = Paper.objects.in_bulk(like)
    return render(request, "subscriptions/vote_done.html", {
        **context,
        "like": [like_papers[p] for p in like if p in like_papers],
        "more_count": reader.votes.filter(value=Vote.Value.MORE).count(),
        "fewer_count": reader.votes.filter(value=Vote.Value.FEWER).count(),
        "manage_url": reverse("subscriptions:manage", args=[subscriber_token(reader, "manage")]),
    })


@require_POST
def vote_undo_view(request: HttpRequest, token: str, paper_id: int) -> HttpResponse:
    reader = _reader(request, token)
    if isinstance(reader, HttpResponse):
        return reader
    vote_undo(subscriber_id=reader.pk, paper_id=paper_id)
    return render(request, "subscriptions/vote_undone.html", {
        "paper": Paper.objects.filter(pk=paper_id).first(),
        "manage_url": reverse("subscriptions:manage", args=[subscriber_token(reader, "manage")]),
    })
