"""HTTP for the signup flow: subscribe, confirm, manage, unsubscribe, fresh links.

Every link carries a signed token (subscriptions.tokens). A bad, revoked or
expired token gets a friendly 4xx page offering a fresh link, never a 500.
Actions that change something are POSTs, so mail scanners that follow links
cannot confirm or unsubscribe for anyone (except the RFC 8058 one-click
endpoint, which is a POST by definition).
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from .emails import absolute_url
from .forms import MAX_KEYWORDS_FIELD, WEEKDAYS, PreferencesForm, SendLinkForm, SubscribeForm
from .models import Keyword, Subscriber
from .selectors import keyword_expansion_choices, keyword_previews, subscriber_from_link, trending_preview
from .services import subscribers as services
from .services.preferences import (
    exclusions_parse,
    keyword_expansions_set,
    subscriber_settings_save,
    subscriber_switch_to_weekly,
)
from .services.votes import votes_clear
from .tokens import TokenError, TokenExpired, subscriber_token, token_read

log = logging.getLogger(__name__)

Status = Subscriber.Status

# Per IP: generous (offices and phones share addresses behind NAT).
# Per address: tight, so the form cannot be used to flood someone's inbox.
RATE_PER_IP = "20/h"
RATE_PER_ADDRESS = "3/h"
RATE_PREVIEW = "60/m"
MANAGE_VOTES_SHOWN = 50


def _address_key(group: str, request: HttpRequest) -> str:
    # The mailbox, not the typed text: `Conf5@Example.org.` and `conf5@ｅxample.org`
    # share one allowance. An address that is no mailbox is refused by the form
    # anyway (nothing is sent); it falls back to the rough text, and an empty one
    # to the IP, so junk posts do not share one bucket.
    typed = str(request.POST.get("email", ""))[:320]
    try:
        return services.mailbox_key(typed)
    except ValidationError:
        email = " ".join(typed.split()).lower()
        return email or f"ip:{request.META.get('REMOTE_ADDR', '')}"


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """settings.RATELIMIT_VIEW: a clear 429 page instead of a bare 403."""
    response = render(request, "subscriptions/rate_limited.html", status=429)
    response["Retry-After"] = "3600"
    return response


def bad_link(request: HttpRequest, exc: TokenError, purpose: str) -> HttpResponse:
    """The friendly page for an expired or broken signed link (410 or 400), with a form for a fresh one."""
    expired = isinstance(exc, TokenExpired)
    log.info("bad %s link: %s", purpose, exc)
    return render(
        request,
        "subscriptions/bad_link.html",
        {"expired": expired, "purpose": purpose, "form": SendLinkForm()},
        status=410 if expired else 400,
    )


def signed_link(purpose: str) -> Callable:
    """Resolve the view's <token> to its subscriber, or answer with the friendly bad-link page."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, token: str, **kwargs) -> HttpResponse:
            try:
                subscriber = subscriber_from_link(token, purpose=purpose)
            except TokenError as exc:
                return bad_link(request, exc, purpose)
            return view(request, token, subscriber, **kwargs)

        return wrapper

    return decorator


# --- subscribe ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=RATE_PER_IP, method="POST", group="subscriptions.signup")
@ratelimit(key=_address_key, rate=RATE_PER_ADDRESS, method="POST", group="subscriptions.signup.address")
def subscribe(request: HttpRequest) -> HttpResponse:
    # "Get these by email" (search) and a paper's topics link here with the keyword filled in.
    prefill = {"keywords": request.GET.get("keywords", "")[:MAX_KEYWORDS_FIELD]} if request.method == "GET" else None
    form = SubscribeForm(request.POST if request.method == "POST" else None, initial=prefill)
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            log.info("honeypot filled on signup from %s", request.META.get("REMOTE_ADDR"))
        else:
            services.subscriber_signup(
                email=form.cleaned_data["email"],
                keywords=[k.text for k in form.cleaned_data["keywords"]],
                timezone=form.cleaned_data["timezone"],
                plus_trending=form.cleaned_data["plus_trending"],
            )
        # The same answer for every address: the form must not reveal who subscribes.
        return redirect("subscriptions:subscribe_done")
    status = 400 if request.method == "POST" else 200
    return render(request, "subscriptions/subscribe.html", {"subscribe_form": form}, status=status)


@require_GET
def subscribe_done(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/check_inbox.html", {"why": "signup"})


@require_GET
@ratelimit(key="ip", rate=RATE_PREVIEW, group="subscriptions.preview")
def keyword_preview(request: HttpRequest) -> HttpResponse:
    """An HTML fragment: what each typed keyword matches among recent papers, what the
    words to keep out remove, and the trending list when that is (part of) the choice."""
    raw = request.GET.get("keywords", "")[:3000]
    errors = []
    try:
        keywords = services.keywords_parse(raw, required=False)
    except ValidationError as exc:  # shown as a hint; the form says it properly on submit
        keywords = []
        errors += exc.messages
    try:
        exclusions = exclusions_parse(request.GET.get("exclusions", "")[:3000])
    except ValidationError as exc:
        exclusions = []
        errors += exc.messages
    trending = request.GET.get("trending", "")
    if not keywords and not errors:
        trending = Subscriber.Trending.ONLY
    previews = keyword_previews(keywords[: services.MAX_KEYWORDS], exclusions) if keywords else []
    show_trending = trending in (Subscriber.Trending.ONLY, Subscriber.Trending.TOP3)
    return render(request, "subscriptions/_keyword_preview.html", {
        "previews": previews, "error": " ".join(errors), "raw": raw, "trending": trending,
        "trending_titles": trending_preview() if show_trending else [],
    })


# --- confirm ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_link("confirm")
def confirm(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST":
        services.subscriber_confirm(subscriber_id=subscriber.pk)
        # Post/redirect/get: the GET shows the welcome page now that they are active.
        return redirect("subscriptions:confirm", token=token)
    if subscriber.status in (Status.ACTIVE, Status.PAUSED):
        return render(request, "subscriptions/welcome.html", {
            "subscriber": subscriber,
            "keywords": list(subscriber.keywords.all()),
            "manage_url": reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")]),
        })
    return render(request, "subscriptions/confirm.html", {
        "subscriber": subscriber, "keywords": list(subscriber.keywords.all()),
    })


# --- manage -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_link("manage")
def manage(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    form = PreferencesForm(request.POST if request.method == "POST" else None, subscriber=subscriber)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        subscriber_settings_save(
            subscriber_id=subscriber.pk,
            trending=data["trending"],
            keywords=[k.text for k in data["keywords"]],
            exclusions=[e.text for e in data["exclusions"]],
            authors=[a.name for a in data["authors"]],
            frequency=data["frequency"],
            send_hour=data["send_hour"],
            send_weekday=data["send_weekday"],
            timezone=data["timezone"],
        )
        messages.success(request, "Saved. Your next digest uses these settings.")
        return redirect("subscriptions:manage", token=token)
    return render(request, "subscriptions/manage.html", {
        "subscriber": subscriber, "form": form, "token": token, "weekday": dict(WEEKDAYS)[subscriber.send_weekday],
        "votes": list(subscriber.votes.select_related("paper")[:MANAGE_VOTES_SHOWN]),
        "votes_count": subscriber.votes.count(),
        "feed_url": absolute_url(reverse("subscriptions:feed", args=[subscriber_token(subscriber, "feed")])),
        "expansions": keyword_expansion_choices(subscriber.keywords.all()),
    }, status=400 if form.is_bound and form.errors else 200)


@require_POST
@signed_link("manage")
def manage_expansions(request: HttpRequest, token: str, subscriber: Subscriber, keyword_id: int) -> HttpResponse:
    """One keyword's expansions switched on or off (the ticked boxes are the ones kept)."""
    try:
        keyword_expansions_set(subscriber_id=subscriber.pk, keyword_id=keyword_id, enabled=request.POST.getlist("on"))
    except Keyword.DoesNotExist:
        raise Http404("No such keyword on this subscription.") from None
    messages.success(request, "Saved. Your next digest matches your keyword this way.")
    return redirect(reverse("subscriptions:manage", args=[token]) + "#expansions")


@require_POST
@signed_link("manage")
def manage_votes_clear(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    cleared = votes_clear(subscriber_id=subscriber.pk)
    plural = "s" if cleared != 1 else ""
    messages.success(request, f"Cleared {cleared} vote{plural}: your ranking is keyword-only again.")
    return redirect("subscriptions:manage", token=token)


@require_POST
@signed_link("manage")
def manage_pause(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    services.subscriber_pause(subscriber_id=subscriber.pk)
    messages.success(request, "Paused. No digests until you resume.")
    return redirect("subscriptions:manage", token=token)


@require_POST
@signed_link("manage")
def manage_resume(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    services.subscriber_resume(subscriber_id=subscriber.pk)
    messages.success(request, "Welcome back: your digests start again.")
    return redirect("subscriptions:manage", token=token)


@require_POST
@signed_link("manage")
def manage_unsubscribe(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    services.subscriber_unsubscribe(subscriber_id=subscriber.pk)
    messages.success(request, "Unsubscribed. We will not email you digests any more.")
    return redirect("subscriptions:manage", token=token)


@require_GET
@signed_link("manage")
def manage_export(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    data = services.subscriber_export_data(subscriber_id=subscriber.pk)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="trending-papers-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@signed_link("manage")
def manage_delete(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST":
        services.subscriber_delete(subscriber_id=subscriber.pk)
        return render(request, "subscriptions/deleted.html")
    return render(request, "subscriptions/delete.html", {"subscriber": subscriber, "token": token})


@require_POST
@signed_link("manage")
def manage_sign_out(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    services.subscriber_sign_out_everywhere(subscriber_id=subscriber.pk)
    return render(request, "subscriptions/signed_out.html", {"subscriber": subscriber})


# --- unsubscribe ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_link("unsubscribe")
def unsubscribe(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """Leaving gently: weekly instead, a pause, or other keywords, before the one Unsubscribe button.

    The gentler choices need a link that was not revoked ("sign out everywhere"):
    an old unsubscribe link keeps working, but only to stop mail.
    """
    current = token_read(token, purpose="unsubscribe").version == subscriber.token_version
    if request.method == "POST":
        action = request.POST.get("action", "unsubscribe")
        if action == "weekly" and current:
            subscriber_switch_to_weekly(subscriber_id=subscriber.pk)
            messages.success(request, "Done: from now on you get one digest a week, on Mondays.")
        elif action == "pause" and current:
            services.subscriber_pause(subscriber_id=subscriber.pk)
            messages.success(request, "Paused. No digests until you resume them from your settings.")
        elif action == "unsubscribe":
            services.subscriber_unsubscribe(subscriber_id=subscriber.pk)
        return redirect("subscriptions:unsubscribe", token=token)
    return render(request, "subscriptions/unsubscribe.html", {
        "subscriber": subscriber,
        "receiving": subscriber.status in services.RECEIVING,
        "post_url": reverse("subscriptions:unsubscribe", args=[token]),
        "gentle": current and subscriber.status == Status.ACTIVE,
        "manage_url": reverse("subscriptions:manage", args=[subscriber_token(subscriber, "manage")]) if current else "",
    })


@csrf_exempt
@require_http_methods(["GET", "POST"])
@signed_link("unsubscribe")
def one_click_unsubscribe(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`; we unsubscribe and answer 200.

    No CSRF token (the client has none); the signed token is the authority.
    Idempotent. A GET (someone opened the URL) shows the normal page.
    """
    if request.method == "GET":
        return unsubscribe(request, token)
    services.subscriber_unsubscribe(subscriber_id=subscriber.pk)
    return render(request, "subscriptions/unsubscribed_one_click.html", {"subscriber": subscriber})


# --- "email me a fresh link" -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=RATE_PER_IP, method="POST", group="subscriptions.send_link")
@ratelimit(key=_address_key, rate=RATE_PER_ADDRESS, method="POST", group="subscriptions.send_link.address")
def send_link(request: HttpRequest) -> HttpResponse:
    form = SendLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not form.is_bot():
            services.subscriber_send_fresh_link(email=form.cleaned_data["email"])
        return redirect("subscriptions:send_link_done")
    return render(request, "subscriptions/send_link.html", {"form": form}, status=400 if form.is_bound else 200)


@require_GET
def send_link_done(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/check_inbox.html", {"why": "link"})
