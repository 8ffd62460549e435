"""Every write about subscribers: sign up, confirm, preferences, keywords, pause,
unsubscribe, erase, sign out everywhere, purge, and the two account emails.

Emails are never sent inside a request's transaction: they are enqueued as
Celery tasks with `transaction.on_commit(..., robust=True)`, so a signup that
rolls back sends nothing and a broken mail server or broker never turns a
signup into an error page (the failure is logged; the task retries on its own).
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone as dj_timezone

from papers.search import normalize_keyword

from ..emails import absolute_url, make_message, message_send
from ..errors import TransientError
from ..models import DeliveryEvent, Digest, Keyword, Subscriber
from ..tokens import MAX_AGE, subscriber_token

log = logging.getLogger(__name__)

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 100
# RFC 5321: 64 for the local part, 254 for the whole path in practice.
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
PENDING_TTL = timedelta(days=30)
# An owed confirmation older than this was lost by the broker (or is stuck
# behind a very long queue: the task's claim keeps that from sending twice).
CONFIRMATION_SWEEP_AFTER = timedelta(minutes=5)
CONFIRMATION_SWEEP_LIMIT = 1000

Status = Subscriber.Status
# States a confirmation link may (re)activate: never confirmed, or left and
# asking to come back. A paused or active subscriber has nothing to confirm.
CONFIRMABLE = (Status.PENDING, Status.UNSUBSCRIBED, Status.BOUNCED)
RECEIVING = (Status.PENDING, Status.ACTIVE, Status.PAUSED)
# Addresses that told us (a spam complaint) or their server (hard bounces) to
# stop: nothing from the public forms reaches them. Only an editor can resend.
SILENCED = (Status.COMPLAINED, Status.BOUNCED)

_KEYWORD_SPLIT = re.compile(r"[,\n\r;]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class KeywordInput:
    text: str  # as typed, trimmed
    normalized: str  # papers.search.normalize_keyword(text)


# --- values --------------------------------------------------------------------------------


def keywords_parse(raw: str | Iterable[str], *, required: bool = True) -> list[KeywordInput]:
    """Split comma/newline separated keywords, trim them, collapse duplicates.

    Duplicates are judged by the matcher's normalized form ("Pre-training" and
    "pretraining" are one keyword; the first spelling wins). Raises
    ValidationError listing every problem: none given (when `required`), too
    many, too long, nothing to match, control characters.
    """
    pieces = _KEYWORD_SPLIT.split(raw) if isinstance(raw, str) else [str(p) for p in raw]
    problems: list[str] = []
    seen: dict[str, KeywordInput] = {}
    for piece in pieces:
        text = " ".join(piece.split())
        if not text:
            continue
        shown = text if len(text) <= 40 else text[:37] + "…"
        if _CONTROL.search(text):
            problems.append(f"“{_CONTROL.sub('', shown)}” contains control characters.")
            continue
        if len(text) > MAX_KEYWORD_LENGTH:
            problems.append(f"“{shown}” is {len(text)} characters long; "
                            f"a keyword can have at most {MAX_KEYWORD_LENGTH}.")
            continue
        normalized = normalize_keyword(text)
        if not normalized:
            problems.append(f"“{shown}” has no letters or digits to match.")
            continue
        seen.setdefault(normalized, KeywordInput(text=text, normalized=normalized[:200]))
    if required and not seen and not problems:
        problems.append("Enter at least one keyword, for example “diffusion” or “speech recognition”.")
    if len(seen) > MAX_KEYWORDS:
        problems.append(f"That is {len(seen)} keywords; you can follow at most {MAX_KEYWORDS}.")
    if problems:
        raise ValidationError(problems)
    return list(seen.values())


def email_normalize(email: str) -> str:
    """One spelling per mailbox: trimmed, domain lower-cased and IDN in Unicode form.

    `Ada@Bücher.DE`, `ada@xn--bcher-kva.de` and `Ada@Ｂücher.de.` (fullwidth,
    trailing dot) become `Ada@bücher.de`; the case-insensitive unique
    constraint does the rest. Raises ValidationError for an address that cannot
    be a mailbox (length, line breaks, bad domain).
    """
    email = unicodedata.normalize("NFKC", email).strip()
    if _CONTROL.search(email) or "\n" in email or "\r" in email:
        raise ValidationError("Enter one email address, without line breaks.", code="header_injection")
    local, sep, domain = email.rpartition("@")
    if not sep or not local or not domain:
        raise ValidationError("Enter a valid email address.", code="invalid")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
        unicode_domain = ascii_domain.encode("ascii").decode("idna")
    except UnicodeError:
        raise ValidationError("The part after @ is not a valid domain name.", code="invalid") from None
    if len(local) > MAX_LOCAL_PART_LENGTH or len(local) + 1 + len(ascii_domain) > MAX_EMAIL_LENGTH:
        raise ValidationError(f"That address is too long: at most {MAX_EMAIL_LENGTH} characters.", code="max_length")
    validate_email(f"{local}@{ascii_domain}")
    return f"{local}@{unicode_domain}"


def mailbox_key(email: str) -> str:
    """The one key per mailbox, for every per-address rate limit and lookup.

    email_normalize (NFKC, IDN, trailing dot) and then lower case: every
    spelling of `conf5@example.org` (`Conf5@Example.org`, `conf5@example.org.`,
    `conf5@ｅxample.org`) gives the same key. Raises ValidationError like
    email_normalize.
    """
    return email_normalize(email).lower()


# --- sign up and confirm ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignupResult:
    subscriber_id: int
    created: bool
    email_sent: str  # "confirm", "manage" or "" (nothing: a spam complaint is on file)


def subscriber_signup(
    *, email: str, keywords: str | Iterable[str], timezone: str = "UTC", plus_trending: bool = False
) -> SignupResult:
    """Record a sign-up and enqueue the right email; the caller answers the same in every case.

    No keywords means "just the day's trending list" (Subscriber.Trending.ONLY);
    with keywords, `plus_trending` adds the day's top 3. New, pending or
    unsubscribed address: keywords and that choice replaced, a confirmation
    email is enqueued. Active or paused: nothing changes (a
    stranger must not edit someone's keywords), a "manage your subscription"
    email is enqueued instead of a second confirmation. Spam complaint or hard
    bounces on file: nothing changes, nothing is sent. Transactional; emails go out only after commit. Safe
    against two simultaneous sign-ups for one address (unique constraint).
    """
    email = email_normalize(email)
    parsed = keywords_parse(keywords, required=False)
    Trending = Subscriber.Trending
    trending = Trending.ONLY if not parsed else Trending.TOP3 if plus_trending else Trending.OFF
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            email__iexact=email, defaults={"email": email, "timezone": timezone}
        )
        if subscriber.status in (Status.ACTIVE, Status.PAUSED):
            _enqueue("send_manage_link_email", subscriber.pk)
            return SignupResult(subscriber.pk, created, "manage")
        if subscriber.status in SILENCED:
            log.info("signup ignored for subscriber %s: status %s", subscriber.pk, subscriber.status)
            return SignupResult(subscriber.pk, created, "")
        _keywords_replace(subscriber, parsed)
        # updated_at restarts the 30-day purge clock for a pending sign-up.
        Subscriber.objects.filter(pk=subscriber.pk).update(
            timezone=timezone, trending=trending, updated_at=dj_timezone.now()
        )
        _enqueue_confirmation(subscriber.pk)
        return SignupResult(subscriber.pk, created, "confirm")


def subscriber_confirm(*, subscriber_id: int) -> bool:
    """Make a pending (or unsubscribed, or bounced) subscriber active.

    Idempotent: a conditional UPDATE; True only for the call that changed the
    status. Active and paused subscribers are left as they are.
    """
    changed = Subscriber.objects.filter(pk=subscriber_id, status__in=CONFIRMABLE).update(
        status=Status.ACTIVE,
        confirmed_at=dj_timezone.now(),
        unsubscribed_at=None,
        hard_bounces=0,
        updated_at=dj_timezone.now(),
    )
    return changed == 1


def subscriber_create_confirmed(
    *, email: str, keywords: Iterable[str], timezone: str = "UTC", send_hour: int = 7,
    trending: str = Subscriber.Trending.OFF,
) -> Subscriber:
    """An active subscriber with these keywords, no email sent (for `make demo` and tests).

    Idempotent: an existing address is made active and its keywords replaced.
    No keywords is allowed only with trending="only" (the trending list alone).
    """
    email = email_normalize(email)
    parsed = keywords_parse(list(keywords), required=trending != Subscriber.Trending.ONLY)
    with transaction.atomic():
        subscriber, _ = Subscriber.objects.select_for_update().get_or_create(
            email__iexact=email, defaults={"email": email, "timezone": timezone, "send_hour": send_hour}
        )
        _keywords_replace(subscriber, parsed)
        now = dj_timezone.now()
        Subscriber.objects.filter(pk=subscriber.pk).update(
            status=Status.ACTIVE, confirmed_at=subscriber.confirmed_at or now, unsubscribed_at=None, updated_at=now,
            trending=trending,
        )
    subscriber.refresh_from_db()
    return subscriber


# --- preferences -----------------------------------------------------------------------------


def subscriber_keywords_set(
    *, subscriber_id: int, keywords: str | Iterable[str], required: bool = True
) -> list[Keyword]:
    """Replace a subscriber's keywords with these (validated, deduplicated; none only if not `required`).

    Transactional, and serialized per subscriber by a row lock, so two
    simultaneous saves cannot trip the unique constraint.
    """
    parsed = keywords_parse(keywords, required=required)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        return _keywords_replace(subscriber, parsed)


def subscriber_preferences_update(
    *, subscriber_id: int, frequency: str, send_hour: int, timezone: str, send_weekday: int = 0,
    keywords: str | Iterable[str] | None = None, trending: str | None = None,
) -> None:
    """Save delivery preferences, and the keywords and trending choice when given, in one transaction.

    The time zone is validated by the form (a zoneinfo name); values outside
    the model's ranges raise ValidationError and nothing is saved. Keywords may
    be empty only for the trending list alone (trending="only"); switching to it
    keeps the keywords, so switching back restores them.
    """
    if frequency not in Subscriber.Frequency.values or not 0 <= send_hour <= 23 or not 0 <= send_weekday <= 6:
        raise ValidationError("invalid preferences")
    if trending is not None and trending not in Subscriber.Trending.values:
        raise ValidationError("invalid trending choice")
    with transaction.atomic():
        if keywords is not None:
            subscriber_keywords_set(subscriber_id=subscriber_id, keywords=keywords,
                                    required=trending != Subscriber.Trending.ONLY)
        changes = {"trending": trending} if trending is not None else {}
        Subscriber.objects.filter(pk=subscriber_id).update(
            frequency=frequency, send_hour=send_hour, send_weekday=send_weekday, timezone=timezone,
            updated_at=dj_timezone.now(), **changes,
        )


def subscriber_pause(*, subscriber_id: int) -> bool:
    """Active → paused (no digests until resumed). Idempotent conditional UPDATE."""
    return Subscriber.objects.filter(pk=subscriber_id, status=Status.ACTIVE).update(
        status=Status.PAUSED, updated_at=dj_timezone.now()
    ) == 1


def subscriber_resume(*, subscriber_id: int) -> bool:
    """Paused or unsubscribed → active, from a manage link (it proves the inbox). Idempotent."""
    return Subscriber.objects.filter(pk=subscriber_id, status__in=(Status.PAUSED, Status.UNSUBSCRIBED)).update(
        status=Status.ACTIVE, unsubscribed_at=None, updated_at=dj_timezone.now()
    ) == 1


def subscriber_unsubscribe(*, subscriber_id: int) -> bool:
    """Stop all mail at once. Idempotent: True only for the call that changed the status.

    Bounced and complained subscribers already get nothing and keep that status.
    """
    now = dj_timezone.now()
    return Subscriber.objects.filter(pk=subscriber_id, status__in=RECEIVING).update(
        status=Status.UNSUBSCRIBED, unsubscribed_at=now, updated_at=now
    ) == 1


def subscriber_mark_bounced(*, subscriber_id: int) -> bool:
    """An editor marks the address as bouncing: no more mail until it confirms again. Idempotent."""
    return Subscriber.objects.filter(pk=subscriber_id).exclude(status=Status.BOUNCED).update(
        status=Status.BOUNCED, updated_at=dj_timezone.now()
    ) == 1


def subscriber_sign_out_everywhere(*, subscriber_id: int) -> None:
    """Revoke every manage, confirm and digest link sent so far, and email a fresh manage link.

    The token version is bumped with an F() expression, so concurrent calls
    each revoke; the new link is enqueued after commit.
    """
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber_id).update(token_version=F("token_version") + 1)
        _enqueue("send_manage_link_email", subscriber_id)


def subscriber_delete(*, subscriber_id: int) -> bool:
    """Erase a subscriber: the row, keywords, exclusions, followed authors, votes, digests and delivery events.

    Every link they hold stops working (the id no longer exists). Idempotent:
    False when there was nothing to erase.
    """
    with transaction.atomic():
        # Events keep the address in their own column; erase means erase.
        DeliveryEvent.objects.filter(subscriber_id=subscriber_id).delete()
        deleted, _ = Subscriber.objects.filter(pk=subscriber_id).delete()
    return deleted > 0


def subscriber_export_data(*, subscriber_id: int) -> dict:
    """Everything we hold about one subscriber, as JSON-ready data ("download my data")."""
    s = Subscriber.objects.get(pk=subscriber_id)

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "email": s.email,
        "status": s.status,
        "created_at": iso(s.created_at),
        "confirmed_at": iso(s.confirmed_at),
        "unsubscribed_at": iso(s.unsubscribed_at),
        "preferences": {
            "frequency": s.frequency,
            "send_weekday": s.send_weekday,
            "send_hour": s.send_hour,
            "timezone": s.timezone,
        },
        "trending": s.trending,
        "keywords": [{"text": k.text, "normalized": k.normalized} for k in s.keywords.all()],
        "exclusions": [{"text": e.text, "normalized": e.normalized} for e in s.exclusions.all()],
        "followed_authors": [{"name": a.name, "key": a.key} for a in s.followed_authors.all()],
        "votes": [
            {"paper_id": v.paper_id, "arxiv_id": v.paper.arxiv_id, "title": v.paper.title,
             "vote": "more" if v.value > 0 else "fewer", "at": iso(v.created_at)}
            for v in s.votes.select_related("paper").order_by("created_at")
        ],
        "digests": [
            {"date": d.digest_date.isoformat(), "status": d.status, "papers": d.papers, "sent_at": iso(d.sent_at)}
            for d in Digest.objects.filter(subscriber=s).order_by("digest_date")
        ],
        "delivery_events": [
            {"kind": e.kind, "occurred_at": iso(e.occurred_at), "provider": e.provider}
            for e in DeliveryEvent.objects.filter(subscriber=s).order_by("occurred_at")
        ],
    }


def subscribers_purge_pending(*, older_than: timedelta = PENDING_TTL, now: datetime | None = None) -> int:
    """Erase sign-ups still pending `older_than` after their last sign-up (30 days). Returns how many."""
    cutoff = (now or dj_timezone.now()) - older_than
    deleted, per_model = Subscriber.objects.filter(status=Status.PENDING, updated_at__lt=cutoff).delete()
    count = per_model.get(Subscriber._meta.label, 0)
    if count:
        log.info("purged %d unconfirmed sign-ups older than %s", count, cutoff.isoformat())
    return count


# --- links by email ----------------------------------------------------------------------------


def subscriber_send_fresh_link(*, email: str) -> str:
    """"Email me a fresh link": a confirmation for a pending address, a manage link otherwise.

    Unknown, complained and bounced addresses get nothing; the caller answers
    the same either way. Returns which email was enqueued ("confirm", "manage" or "").
    """
    try:
        key = mailbox_key(email)
    except ValidationError:
        return ""
    subscriber = Subscriber.objects.filter(email__iexact=key).first()
    if subscriber is None or subscriber.status in SILENCED:
        return ""
    kind = "confirm" if subscriber.status == Status.PENDING else "manage"
    with transaction.atomic():
        if kind == "confirm":
            _enqueue_confirmation(subscriber.pk)
        else:
            _enqueue("send_manage_link_email", subscriber.pk)
    return kind


def subscriber_confirmation_resend(*, subscriber_id: int) -> bool:
    """Enqueue a new confirmation email (admin action) if the subscriber can still confirm.

    False, and nothing sent, for active, paused or complained subscribers.
    """
    with transaction.atomic():
        if not Subscriber.objects.filter(pk=subscriber_id, status__in=CONFIRMABLE).exists():
            return False
        _enqueue_confirmation(subscriber_id)
    return True


def subscriber_send_confirmation(*, subscriber_id: int) -> bool:
    """Send the confirmation email that is owed now (called by the Celery task).

    Claims it first with a conditional UPDATE of confirmation_due_at, so two
    tasks for one owed email (a sign-up's and the sweeper's) send it once.
    Skips (False) a subscriber who was erased or confirmed since it was queued,
    or whose email another task already sent. Raises TransientError when the
    mail server fails in a way a retry can fix; the email is owed again then.
    """
    rows = Subscriber.objects.filter(pk=subscriber_id, status__in=CONFIRMABLE)
    if not rows.filter(confirmation_due_at__isnull=False).update(confirmation_due_at=None):
        return False
    subscriber = rows.first()
    if subscriber is None:  # confirmed or erased between the claim and this read
        return False
    ctx = {
        "subscriber": subscriber,
        "keywords": [k.text for k in subscriber.keywords.all()],
        "confirm_url": subscriber_link(subscriber, "confirm"),
        "expires_days": MAX_AGE["confirm"].days,
    }
    try:
        message_send(make_message("confirm", subscriber.email, ctx))
    except TransientError:
        rows.filter(confirmation_due_at__isnull=True).update(confirmation_due_at=dj_timezone.now())
        raise
    return True


def subscribers_send_owed_confirmations(*, older_than: timedelta = CONFIRMATION_SWEEP_AFTER) -> int:
    """Enqueue the confirmation emails owed for longer than `older_than` (the broker lost or never got them).

    Run by beat every few minutes. Safe to run any time: the sending task
    claims each email, so one that is still in the queue is not sent twice.
    Returns how many were enqueued.
    """
    cutoff = dj_timezone.now() - older_than
    owed = list(Subscriber.objects.filter(status__in=CONFIRMABLE, confirmation_due_at__lte=cutoff)
                .values_list("pk", flat=True)[:CONFIRMATION_SWEEP_LIMIT])
    for subscriber_id in owed:
        # Not on_commit: there is no transaction here; a broker still down raises into beat's log.
        _task("send_confirmation_email").delay(subscriber_id)
    if owed:
        log.info("re-enqueued %d owed confirmation emails (owed since before %s)", len(owed), cutoff.isoformat())
    return len(owed)


def subscriber_send_manage_link(*, subscriber_id: int) -> bool:
    """Send the "manage your subscription" email now (called by the Celery task).

    False, nothing sent, if erased, or complained or bounced since it was queued.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).exclude(status__in=SILENCED).first()
    if subscriber is None:
        return False
    ctx = {
        "subscriber": subscriber,
        "keywords": [k.text for k in subscriber.keywords.all()],
        "manage_url": subscriber_link(subscriber, "manage"),
        "unsubscribe_url": subscriber_link(subscriber, "unsubscribe"),
        "expires_days": MAX_AGE["manage"].days,
    }
    message_send(make_message("manage-link", subscriber.email, ctx))
    return True


def subscriber_link(subscriber: Subscriber, purpose: str) -> str:
    """The absolute signed URL of a subscriber's confirm, manage or unsubscribe page."""
    return absolute_url(reverse(f"subscriptions:{purpose}", args=[subscriber_token(subscriber, purpose)]))


# --- internals -----------------------------------------------------------------------------------


def _keywords_replace(subscriber: Subscriber, parsed: list[KeywordInput]) -> list[Keyword]:
    # Called inside a transaction holding the subscriber's row lock. A keyword kept
    # (same normalized form) keeps the expansions its subscriber switched off.
    switched_off = dict(
        Keyword.objects.filter(subscriber=subscriber).exclude(disabled_expansions=[])
        .values_list("normalized", "disabled_expansions")
    )
    Keyword.objects.filter(subscriber=subscriber).delete()
    return Keyword.objects.bulk_create([
        Keyword(subscriber=subscriber, text=k.text, normalized=k.normalized,
                disabled_expansions=switched_off.get(k.normalized, []))
        for k in parsed
    ])



def _task(task_name: str):
    # By name: subscriptions/tasks.py imports this module (and registers its
    # tasks at start-up, apps.py); an unknown name raises NotRegistered.
    return current_app.tasks[f"subscriptions.tasks.{task_name}"]


def _enqueue_confirmation(subscriber_id: int) -> None:
    # Owed in the caller's transaction: if the broker does not take the task
    # after commit (Redis down), the sweeper still finds the row.
    Subscriber.objects.filter(pk=subscriber_id).update(confirmation_due_at=dj_timezone.now())
    _enqueue("send_confirmation_email", subscriber_id)


def _enqueue(task_name: str, subscriber_id: int) -> None:
    task = _task(task_name)
    # robust: a broker that is down is logged, never raised into the request.
    transaction.on_commit(lambda: task.delay(subscriber_id), robust=True)
