"""Digest emails, assembled fast: the digest half of subscriptions/emails.py (the one builder).

The digest is written as ordinary templates (emails/digest-subject.txt,
digest-body.txt, digest-body.html and the per-paper digest-card.*), styled by
one <style> block that premailer inlines (emails.inline_css). Running Django's
template engine and premailer for every one of 100,000 emails would cost tens
of milliseconds each, so they run once per process instead:

- each template is rendered with placeholder tokens (``ZQ<name>QZ``) where
  per-subscriber values go, inlined once, and split at the tokens into a
  `Skeleton` (literal strings and the names between them);
- the shell has one variant per structure (editor's note or not, "N more" or
  not), a card one per shape (arXiv links, code link, authors, abstract); the
  day's note is inlined once, each paper's card filled once per set of
  highlighted words (bounded caches);
- an email is then string concatenation of pre-inlined fragments and values
  escaped here with django.utils.html.escape.

tests/digests/reference.py renders the same email the slow way (templates +
premailer on the whole document); the tests keep the two identical. Each card also keeps
its SMTP-ready bytes, and digests.mime turns a RenderedDigest into
the message's bytes or a Django message.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections import OrderedDict
from functools import lru_cache
from html import escape  # what django.utils.html.escape calls, minus its lazy-string wrapper

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from papers.notes import EMAIL_NOTE_CHARS
from subscriptions.emails import feedback_id, html_document
from subscriptions.tokens import token_make

from .content import ABSTRACT_CHARS, VOTE_TOKEN, DigestInput, Note, PaperData, card_values, note_cut, shorten
from .mime import RenderedDigest, digest_message_id, envelope_sender, longest_line, sender_domain, wire

logger = logging.getLogger(__name__)

# Gmail clips HTML above 102 KB (102 * 1024 bytes); stay a little under it.
HTML_LIMIT = 100_000
MAX_PAPERS = 10
SHORT_ABSTRACT_CHARS = 120  # the first step when an email would be clipped
CARD_CACHE_SIZE = 16_000  # about 50 MB of cards (SMTP bytes + text) per process

_FEEDBACK_ID = feedback_id("digest")
_TOKEN = re.compile(r"ZQ([a-z_]+)QZ")
_VOTE_BYTES = VOTE_TOKEN.encode()
_MARKERS = ("<!--cards-->", "<!--/cards-->", "<!--note-->", "<!--/note-->")
# Shell values that differ per subscriber; the same names in both render paths.
_SHELL_NAMES = ("subject", "preheader", "headline", "lede", "date_label", "web_url", "email", "keywords",
                "frequency", "manage_url", "unsubscribe_url", "more_label", "site_url")


_NEEDS_ESCAPE = re.compile(r"[&<>\"']")
_TYPED = ("subject", "preheader", "headline", "lede", "email", "keywords", "more_label", "date_label", "frequency")


def _ph(name: str) -> str:
    return f"ZQ{name}QZ"


class Skeleton:
    """Rendered text split at placeholder tokens; `fill` joins literals and values."""

    __slots__ = ("literals", "names", "wire_literals")

    def __init__(self, text: str) -> None:
        parts = _TOKEN.split(text)
        self.literals = parts[0::2]
        self.names = parts[1::2]
        self.wire_literals = [wire(literal)[0] for literal in self.literals]

    def fill_bytes(self, values: dict[str, str]) -> bytes:
        """fill(), straight to SMTP bytes (CRLF line ends): the literals were encoded once."""
        parts = [None] * (2 * len(self.literals) - 1)
        parts[0::2] = self.wire_literals
        values = [values[name] for name in self.names]
        parts[1::2] = [wire(v)[0] if "\n" in v or "\r" in v else v.encode() for v in values]
        return b"".join(parts)

    def fill(self, values: dict[str, str]) -> str:
        parts = [None] * (2 * len(self.literals) - 1)
        parts[0::2] = self.literals
        parts[1::2] = [values[name] for name in self.names]
        return "".join(parts)


def _shape(values: dict) -> tuple[bool, ...]:
    t = values["text"]
    return (bool(t["authors"]), bool(t["abstract"]), bool(t["arxiv_url"]), bool(t["code_url"]), bool(t["summary"]),
            bool(t["reason"]), bool(t["matched"]))


def _shell_values(d: DigestInput, shown: list, more: int) -> tuple[dict[str, str], str]:
    """(the per-subscriber values of the shell, raw: the HTML path escapes them; the unsubscribe token)."""
    topics = _topics(d, shown)
    count = d.matched_count or len(shown)
    if topics:
        headline = f"{count} new paper{'s' if count != 1 else ''} on {topics}"
        lede = "Ranked by how well they match your keywords and how much they are trending."
    else:  # the trending list alone, or only followed authors' papers
        headline = f"The day’s top {len(shown)} trending paper{'s' if len(shown) != 1 else ''}"
        lede = "What the research community is reading today, most trending first."
    titles = " · ".join(p.title for p, _, _ in shown[:3])
    unsubscribe = _token(d, "unsubscribe")  # the footer link and the List-Unsubscribe header
    web = token_make(subscriber_id=d.subscriber_id, token_version=d.token_version, purpose="digest",
                       extra=d.digest_date.isoformat())
    values = {
        "preheader": shorten(f"Top: {titles}", 140),
        "headline": headline,
        "lede": lede,
        "date_label": _date_label(d.digest_date),
        "web_url": _url("digests:digest_view", web),
        # Not a placeholder of the shell: what the cards' vote links carry (VOTE_TOKEN).
        "vote_token": web,
        "email": d.email,
        "keywords": ", ".join(d.keywords) or "the day’s trending list",
        "frequency": d.frequency,
        "manage_url": _url("subscriptions:manage", _token(d, "manage")),
        "unsubscribe_url": _url("subscriptions:unsubscribe", unsubscribe),
        "more_label": f"{more} more paper{'s' if more != 1 else ''}",
        "site_url": settings.SITE_URL,
    }
    values["subject"] = " ".join(_cache_get("subject", None, lambda: Skeleton(render_to_string(
        "emails/digest-subject.txt", {name: _ph(name) for name in _SHELL_NAMES}))).fill(values).split())
    return values, unsubscribe


def _topics(d: DigestInput, shown: list) -> str:
    """The subscriber's keywords that matched, the most productive first (at most three)."""
    counts: dict[str, int] = {}
    for _, matched, _ in shown:
        for k in matched:
            counts[k] = counts.get(k, 0) + 1
    typed = {k: i for i, k in enumerate(d.keywords)}
    ranked = sorted(counts, key=lambda k: (-counts[k], typed.get(k, len(typed))))
    return ", ".join(ranked[:3]) + (" and more" if len(ranked) > 3 else "")


@lru_cache(maxsize=64)
def _date_label(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def _token(d: DigestInput, purpose: str) -> str:
    return token_make(subscriber_id=d.subscriber_id, token_version=d.token_version, purpose=purpose)


def _url(name: str, token: str) -> str:
    prefix, suffix = _cache_get("url", name, lambda: (settings.SITE_URL + reverse(
        name, args=[_ph("token")])).split(_ph("token")))
    return f"{prefix}{token}{suffix}"


# --- per-process caches -----------------------------------------------------------------------

_CACHE: dict = {}
_CARDS: OrderedDict = OrderedDict()


def _generation() -> tuple:
    return (settings.SITE_URL, settings.DEFAULT_FROM_EMAIL, settings.TEMPLATES[0]["DIRS"][0])


def _check_generation() -> None:
    """Forget every cached fragment if the site URL, sender or templates changed (tests, reloads)."""
    if _CACHE.get("generation") != _generation():
        clear_caches()
        _CACHE["generation"] = _generation()


def _cache_get(kind: str, key, make):
    """A value made once per process (see _check_generation)."""
    full = (kind, key)
    value = _CACHE.get(full)
    if value is None:
        value = _CACHE[full] = make()
    return value


def clear_caches() -> None:
    _CACHE.clear()
    _CARDS.clear()


def _placeholder_card(shape: tuple[bool, ...]) -> dict:
    authors, abstract, arxiv, code, summary, reason, matched = shape
    names = {"url": "url", "title": "title", "title_html": "title", "authors": "authors" if authors else None,
             "abstract": "abstract" if abstract else None, "abstract_html": "abstract" if abstract else None,
             "arxiv_url": "arxiv_url" if arxiv else None, "pdf_url": "pdf_url" if arxiv else None,
             "code_url": "code_url" if code else None, "upvotes": "upvotes", "matched": "matched" if matched else None,
             "summary": "summary" if summary else None, "reason": "reason" if reason else None,
             "more_url": "more_url", "fewer_url": "fewer_url", "number": "number"}
    return {k: (_ph(v) if v else "") for k, v in names.items()}


def _template_context(*, values: dict[str, str], cards: list[dict], note: Note | None, note_html, more: int) -> dict:
    ctx = {name: values[name] for name in _SHELL_NAMES}
    return {**ctx, "cards": cards, "note_html": note_html, "note_text": note.text if note else "", "more_count": more}


def _between(text: str, start: str, end: str) -> tuple[str, str, str]:
    head, _, rest = text.partition(start)
    middle, _, tail = rest.partition(end)
    return head, middle, tail


def _strip_markers(text: str) -> str:
    for marker in _MARKERS:
        text = text.replace(marker, "")
    return text


def _render_html(ctx: dict) -> str:
    return html_document(render_to_string("emails/digest-body.html", ctx))


def _shell(has_note: bool, has_more: bool) -> tuple[tuple[Skeleton, Skeleton], Skeleton]:
    """((HTML before the cards, HTML after), text) skeletons of the shell for one structure."""

    def make():
        placeholders = {name: _ph(name) for name in _SHELL_NAMES}
        note = Note(html=_ph("note"), text=_ph("note_text"), key="") if has_note else None
        ctx = _template_context(values=placeholders, cards=[], note=note, note_html=_ph("note") if has_note else "",
                                more=1 if has_more else 0)
        html = _render_html(ctx)
        text = render_to_string("emails/digest-body.txt", ctx)
        head, _, tail = _between(html, "<!--cards-->", "<!--/cards-->")
        text_head, _, text_tail = _between(text, "<!--cards-->", "<!--/cards-->")
        return (Skeleton(_strip_markers(head)), Skeleton(_strip_markers(tail))), Skeleton(
            _strip_markers(text_head + _ph("cards") + text_tail))

    return _cache_get("shell", (has_note, has_more), make)


def _card_skeletons(shape: tuple[bool, ...]) -> tuple[Skeleton, Skeleton]:
    def make():
        placeholders = {name: _ph(name) for name in _SHELL_NAMES}
        ctx = _template_context(values=placeholders, cards=[_placeholder_card(shape)], note=None, note_html="", more=0)
        html = _between(_render_html(ctx), "<!--cards-->", "<!--/cards-->")[1]
        text = _between(render_to_string("emails/digest-body.txt", ctx), "<!--cards-->", "<!--/cards-->")[1]
        return Skeleton(html), Skeleton(text)

    return _cache_get("card", shape, make)


def _note_html(note: Note) -> str:
    """The note's HTML with its styles inlined, once per note."""

    def make():
        placeholders = {name: _ph(name) for name in _SHELL_NAMES}
        ctx = _template_context(values=placeholders, cards=[], note=note, note_html=mark_safe(note.html), more=0)
        return _between(_render_html(ctx), "<!--note-->", "<!--/note-->")[1]

    return _cache_get("note", note.key, make)


class Card:
    """One paper's card, ready to concatenate: its HTML as SMTP bytes, and its text."""

    __slots__ = ("data", "longest", "text")

    def __init__(self, html: str, text: str) -> None:
        self.data, self.longest = wire(html)
        self.text = text  # with \0 where its number goes


def _card(paper: PaperData, matched: tuple[str, ...], terms: tuple[str, ...], abstract_chars: int,
          reason: str = "") -> Card:
    """One paper's card, cached per paper version, matched keywords, highlighted words, abstract length
    and reason; its vote links carry VOTE_TOKEN, which each email replaces with its own token."""
    key = (paper.id, paper.version, matched, terms, abstract_chars, reason)
    card = _CARDS.get(key)
    if card is None:
        values = card_values(paper, matched, terms, abstract_chars, reason)
        html_skel, text_skel = _card_skeletons(_shape(values))
        html_values = {**values["html"], "title": values["html"]["title_html"],
                       "abstract": values["html"]["abstract_html"]}
        text_values = {**{k: v.replace("\0", "") for k, v in values["text"].items()}, "number": "\0"}
        card = Card(html_skel.fill(html_values), text_skel.fill(text_values))
        if len(_CARDS) >= CARD_CACHE_SIZE:
            _CARDS.popitem(last=False)  # least recently used: memory stays flat on long runs
        _CARDS[key] = card
    else:
        _CARDS.move_to_end(key)
    return card


# --- one email -----------------------------------------------------------------------------


def render_digest(d: DigestInput) -> RenderedDigest:
    """The email for one digest, from pre-inlined fragments; never over HTML_LIMIT bytes of HTML.

    Too big: abstracts are shortened first, then dropped, then the editor's note
    moves to the site (a link to the day page), then papers move into "N more on
    the site" down to one. Every card field is capped (digests.content), so the
    last step always fits; if it ever does not, the error is logged and the email sent.
    """
    _check_generation()
    shown = list(d.items[:MAX_PAPERS])
    abstract_chars, note_chars = ABSTRACT_CHARS, EMAIL_NOTE_CHARS
    while True:
        rendered = _assemble(d, shown, abstract_chars, note_chars)
        if rendered.html_size <= HTML_LIMIT:
            return rendered
        if abstract_chars > SHORT_ABSTRACT_CHARS:
            abstract_chars = SHORT_ABSTRACT_CHARS
        elif abstract_chars:
            abstract_chars = 0
        elif d.note is not None and note_chars:
            # Before any paper: the note keeps its link to the day page, and a note of
            # long links can weigh more than nine papers.
            note_chars = 0
        elif len(shown) > 1:
            shown = shown[:-1]
        else:
            logger.error("digest %s for subscriber %s: %d bytes of HTML, over the %d limit with nothing left to cut",
                      d.digest_id, d.subscriber_id, rendered.html_size, HTML_LIMIT)
            return rendered


def _email_note(d: DigestInput, chars: int) -> Note | None:
    """The day's note as this email shows it: its first `chars` characters, then a link to the day page."""
    if d.note is None:
        return None
    return _cache_get("note_cut", (d.note.key, chars, d.digest_date), lambda: note_cut(
        d.note, chars=chars, full_note_url=settings.SITE_URL + reverse("papers:day", args=[d.digest_date])))


def _assemble(d: DigestInput, shown: list, abstract_chars: int, note_chars: int) -> RenderedDigest:
    more = max(d.matched_count, len(d.items)) - len(shown)
    values, unsubscribe = _shell_values(d, shown, more)
    note = _email_note(d, note_chars)
    (head_skel, tail_skel), text_skel = _shell(note is not None, more > 0)
    reasons = d.reasons
    cards = [_card(paper, matched, terms, abstract_chars, reasons.get(paper.id, "")) for paper, matched, terms in shown]
    token = values["vote_token"]
    token_bytes = token.encode()
    # The longest line can only grow by the token's length, twice per card (two links on one line).
    grow = 2 * max(len(token) - len(VOTE_TOKEN), 0)
    # URLs are an escaped prefix and suffix around a URL-safe token (_url), the
    # date and frequency are ours: only what people typed or titled needs escaping.
    html_values = {**values, **{k: escape(values[k]) for k in _TYPED}}
    for name in ("web_url", "manage_url", "unsubscribe_url", "site_url"):
        if _NEEDS_ESCAPE.search(values[name]):
            html_values[name] = escape(values[name])
    text_values = dict(values, cards="".join(
        [c.text.replace("\0", str(n), 1).replace(VOTE_TOKEN, token) for n, c in enumerate(cards, 1)]))
    if note is not None:
        html_values["note"] = _note_html(note)
        text_values["note_text"] = note.text
    head_data, tail_data = head_skel.fill_bytes(html_values), tail_skel.fill_bytes(html_values)
    message_id = _message_id(d)
    return RenderedDigest(
        subject=values["subject"], preheader=values["preheader"], text=text_skel.fill(text_values),
        headers=_headers(d, message_id, unsubscribe), message_id=message_id, to=d.email, shown=len(shown),
        html_data=[head_data, *[c.data.replace(_VOTE_BYTES, token_bytes) for c in cards], tail_data],
        html_longest=max(longest_line(head_data), longest_line(tail_data), *[c.longest + grow for c in cards]),
    )


def _message_id(d: DigestInput) -> str:
    if d.digest_id:
        return digest_message_id(d.digest_id, d.digest_date)
    return f"<preview-{uuid.uuid4().hex}@{sender_domain()}>"


def _headers(d: DigestInput, message_id: str, unsubscribe_token: str) -> dict[str, str]:
    one_click = _url("subscriptions:one_click_unsubscribe", unsubscribe_token)
    return {
        "Message-ID": message_id,
        # The mailto's subject carries the token: mail to it reaches subscriptions.webhooks
        # (inbound) when the operator routes it there (docs/operations.md).
        "List-Unsubscribe": f"<{one_click}>, <mailto:{envelope_sender()}?subject=unsubscribe%20{unsubscribe_token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Trending Papers digest <digest.{sender_domain()}>",
        "Feedback-ID": _FEEDBACK_ID,
    }
