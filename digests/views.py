"""The signed web view of one digest ("view in browser", "N more on the site")."""
from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from subscriptions.tokens import TokenError, subscriber_from_token
from subscriptions.views import bad_link

from .pages import digest_page


@require_GET
def digest_view(request: HttpRequest, token: str) -> HttpResponse:
    """One subscriber's digest of one date, every paper (the email shows the first ten); docs/digests.md."""
    try:
        subscriber, payload = subscriber_from_token(token, purpose="digest")
        day = dt.date.fromisoformat(payload.extra)
    except TokenError as exc:
        return bad_link(request, exc, "digest")
    except ValueError:
        return bad_link(request, TokenError("no valid date in the link"), "digest")
    return render(request, "subscriptions/digest_view.html", {**digest_page(subscriber, day), "token": token})
