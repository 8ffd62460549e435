"""What one subscriber gets on one day, outside the daily build: the signed web view
("view in browser") and the admin's preview. Both select exactly as the build does
(digests.selection, with the reader's own settings: digests.tailor).
"""
from __future__ import annotations

import datetime as dt

from papers.models import Paper
from subscriptions.models import Digest, Subscriber, Vote

from .content import DigestInput, reason_text
from .mime import RenderedDigest
from .render import MAX_PAPERS, render_digest
from .selection import (
    Selection,
    Selector,
    day_note,
    digest_inputs,
    digest_rows,
    keyword_match_key,
    papers_data,
    window_start,
)
from .tailor import select_tailored, tailoring_of


def selection_for(
    subscriber: Subscriber, digest_date: dt.date, *, limit: int | None = MAX_PAPERS
) -> Selection | None:
    """What `subscriber` gets (or got) for `digest_date`: used by the web view and the admin preview.

    The window starts at their previous digest before that date (or the default
    first window), exactly as the build saw it.
    """
    previous = (Digest.objects.filter(subscriber=subscriber, digest_date__lt=digest_date)
                .order_by("-digest_date").first())
    start = window_start(last_digest_on=previous.digest_date if previous else None, digest_date=digest_date,
                         frequency=subscriber.frequency)
    rows = subscriber.keywords.values_list("text", "normalized", "disabled_expansions")
    pairs = [(text, keyword_match_key(normalized, disabled)) for text, normalized, disabled in rows]
    tailoring = tailoring_of(subscriber)
    if (not pairs and tailoring.plain) or start > digest_date:
        return None
    selector = Selector(digest_date=digest_date, since=start, keywords=[n for _, n in pairs])
    return select_tailored(selector, pairs, start, exclude=frozenset(previous.papers if previous else ()),
                           tailoring=tailoring, limit=limit)


def digest_page(subscriber: Subscriber, digest_date: dt.date) -> dict:
    """Context of the signed web view: the papers of the email first, then every other new match.

    Papers hidden since are left out; nothing here depends on the email's size cap.
    """
    row = Digest.objects.filter(subscriber=subscriber, digest_date=digest_date).first()
    emailed: list[int] = list(row.papers) if row and row.status != Digest.Status.SKIPPED else []
    matched = {int(k): v for k, v in (row.matches if row else {}).items()}
    terms = {int(k): v for k, v in (row.terms if row else {}).items()}
    reasons = {int(k): v for k, v in (row.reasons if row else {}).items()}
    order = list(emailed)
    if row is not None and row.status != Digest.Status.SKIPPED:
        found = selection_for(subscriber, digest_date, limit=None)
        if found is not None:
            order += [p for p in found.papers if p not in emailed]
            for p in found.papers:
                matched.setdefault(p, found.matched[p])
                terms.setdefault(p, found.terms[p])
                if p in found.reasons:
                    reasons.setdefault(p, found.reasons[p])
    papers = {p.id: p for p in Paper.objects.filter(pk__in=order, is_hidden=False)}
    votes = dict(Vote.objects.filter(subscriber=subscriber, paper_id__in=order).values_list("paper_id", "value"))
    entries = [{"paper": papers[p], "matched": matched.get(p, []), "terms": terms.get(p, []), "emailed": p in emailed,
                "reason": reason_text(reasons.get(p, "")), "vote": votes.get(p, 0)}
               for p in order if p in papers]
    return {"subscriber": subscriber, "day": digest_date, "digest": row, "entries": entries,
            "emailed_count": sum(1 for e in entries if e["emailed"])}


def digest_preview(subscriber: Subscriber, digest_date: dt.date) -> tuple[RenderedDigest | None, str]:
    """(the email, where it comes from) for the admin preview; None when there is nothing to send.

    A digest row is rendered exactly as the send step renders it (same code, same
    Message-ID); a sent one with the editor's note its email carried (Digest.sent_note),
    not the note as it reads now. Without a row, what a build would choose now.
    """
    row = Digest.objects.filter(subscriber=subscriber, digest_date=digest_date).select_related("sent_note").first()
    if row is not None:
        if row.status == Digest.Status.SKIPPED:
            return None, "Skipped: nothing new matched on that day, so nothing was sent."
        sent = row.status == Digest.Status.SENT
        note_bodies = {digest_date: row.sent_note.body} if sent and row.sent_note else None
        data = digest_inputs(digest_rows(pk=row.pk), note_bodies=note_bodies)[0]
        if not data.items:
            return None, "Every paper in this digest has been hidden since."
        if not sent:
            how = "rendered as it will be sent"
        elif note_bodies is not None:
            how = "rendered as it was sent, with the editor’s note its email carried"
        else:  # sent before notes were recorded with the digest
            how = "rendered as it was sent, except the editor’s note: that is today’s version"
        return render_digest(data), f"Digest #{row.pk}, {row.get_status_display().lower()}, {how}."
    found = selection_for(subscriber, digest_date)
    if found is None:
        return None, "Not built yet, and nothing new matches: this day's digest would be skipped."
    papers = papers_data(found.papers)
    data = DigestInput(
        digest_id=None, digest_date=digest_date, subscriber_id=subscriber.pk, token_version=subscriber.token_version,
        email=subscriber.email, frequency=subscriber.frequency,
        keywords=tuple(subscriber.keywords.values_list("text", flat=True)),
        items=[(papers[p], tuple(found.matched[p]), tuple(found.terms[p])) for p in found.papers if p in papers],
        matched_count=found.total, note=day_note(digest_date), reasons=found.reasons,
    )
    return render_digest(data), "Not built yet: what a build would send now (with a preview Message-ID)."
