"""What a digest email says, as plain values: the papers' cards, the editor's note, the recipient.

No HTML layout here (digests.render) and no queries
(digests.selection reads the rows and builds these).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape as html_escape  # what django.utils.html.escape calls, minus its lazy-string wrapper

from django.conf import settings
from django.urls import reverse

from papers.latex import latex_to_text
from papers.notes import EmailNote, note_email_cut, note_email_render
from papers.search import highlight, keyword_form_found

# Caps on what a card shows, so that no paper, however its fields were filled,
# can take the email past Gmail's 102 KB on its own (digests.render).
ABSTRACT_CHARS = 320
TITLE_CHARS = 300
MAX_AUTHORS = 6
AUTHOR_CHARS = 80  # one name; longer ones are lists pasted into one field
AUTHORS_CHARS = 300  # the whole line
# Highlighted words carry their style inline, in both render paths, so they look
# the same in every mail client.
MARK_OPEN = '<mark style="background-color:#fde68a;color:#1f2328;padding:0 1px">'
SUMMARY_CHARS = 300
# Stands for the digest's signed token in a card's vote links: cards are shared by
# every reader of a paper, so each email puts its own token in (digests.render).
VOTE_TOKEN = "zVOTEz"


@dataclass(frozen=True)
class PaperData:
    """What a card shows of one paper (from a Paper row, LaTeX already readable)."""

    id: int
    version: str  # updated_at: a cached card is reused only for the same version
    title: str
    authors: str
    abstract: str
    url: str
    arxiv_url: str
    pdf_url: str
    code_url: str
    upvotes: int
    summary: str = ""  # Hugging Face's one-line ai_summary, when the source gave one


@dataclass(frozen=True)
class Note:
    html: str  # sanitized HTML from the editor's Markdown
    text: str
    key: str


@dataclass
class DigestInput:
    """Everything one email is made from; no query happens while rendering it."""

    digest_id: int | None
    digest_date: dt.date
    subscriber_id: int
    token_version: int
    email: str
    frequency: str
    keywords: tuple[str, ...]
    items: list[tuple[PaperData, tuple[str, ...], tuple[str, ...]]]  # paper, keywords matched, words to mark
    matched_count: int
    note: Note | None = None
    # paper id -> why it is here when no keyword put it there (Digest.reasons: "trending", "author:<name>")
    reasons: dict[int, str] = field(default_factory=dict)


def paper_data(paper) -> PaperData:
    """PaperData from a Paper instance (needs title, abstract, authors, arxiv_id, github_url, upvotes, updated_at)."""
    authors = [a for a in (paper.authors or []) if isinstance(a, str)]
    shown = ", ".join(shorten(a, AUTHOR_CHARS) for a in authors[:MAX_AUTHORS])
    shown = shorten(shown, AUTHORS_CHARS) + (" et al." if len(authors) > MAX_AUTHORS else "")
    title = shorten(latex_to_text(paper.title or "") or f"arXiv:{paper.arxiv_id}", TITLE_CHARS)
    arxiv = f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else ""
    return PaperData(
        id=paper.id,
        version=paper_version(paper.updated_at),
        title=title,
        authors=shown,
        abstract=latex_to_text(_lead(paper.abstract or "", 2 * ABSTRACT_CHARS)),
        url=f"{settings.SITE_URL}{reverse('papers:paper', args=[paper.id])}",
        arxiv_url=arxiv,
        pdf_url=f"https://arxiv.org/pdf/{paper.arxiv_id}" if paper.arxiv_id else "",
        code_url=paper.github_url or "",
        upvotes=max(paper.upvotes or 0, getattr(paper, "listing_upvotes", 0) or 0),
        summary=shorten(" ".join((getattr(paper, "ai_summary", "") or "").split()), SUMMARY_CHARS),
    )


# Digest.reasons values (written by digests.tailor): "author:<name as followed>" or "trending".
AUTHOR = "author:"
TRENDING = "trending"


def reason_text(reason: str) -> str:
    """The line a card shows for Digest.reasons: "by an author you follow: …", "trending today"."""
    if reason.startswith(AUTHOR):
        return f"by an author you follow: {reason[len(AUTHOR):]}"
    return "trending today" if reason == TRENDING else ""


_VOTE_URL: dict[str, tuple[str, str]] = {}  # SITE_URL -> the link around the paper id


def vote_url(paper_id: int, direction: str) -> str:
    """A card's "more / fewer like this" link, with VOTE_TOKEN where the email's token goes.

    reverse() once per site URL, not per card: a day's build makes tens of thousands of cards.
    """
    parts = _VOTE_URL.get(settings.SITE_URL)
    if parts is None:
        url = settings.SITE_URL + reverse("subscriptions:vote", args=[VOTE_TOKEN, 987654321, "more"])
        parts = _VOTE_URL[settings.SITE_URL] = tuple(url.rsplit("987654321/more/", 1))
    return f"{parts[0]}{paper_id}/{direction}/{parts[1]}"


def paper_version(updated_at: dt.datetime) -> str:
    """What tells a cached card it is stale: the paper's last change, to the microsecond."""
    return f"{updated_at.timestamp():.6f}"


def _lead(text: str, limit: int) -> str:
    """The start of an abstract, long enough for any card: cut at a space outside $...$ math.

    An email shows at most ABSTRACT_CHARS of it, and LaTeX conversion costs
    milliseconds per full abstract, so only the part that can be shown is converted.
    """
    if len(text) <= limit:
        return text
    dollars = braces = 0
    for i, char in enumerate(text):
        if char == "$":
            dollars += 1
        elif char == "{":
            braces += 1
        elif char == "}":
            braces -= 1
        elif i >= limit and char.isspace() and not dollars % 2 and braces <= 0:
            return text[:i] + " …"
    return text


def note_from_markdown(body: str) -> Note | None:
    """The editor's note as the email shows it (papers.notes, which the admin preview uses too)."""
    rendered = note_email_render(body)
    if rendered is None:
        return None
    return Note(html=rendered.html, text=rendered.text, key=str(hash(rendered.html)))


def note_cut(note: Note, *, chars: int, full_note_url: str) -> Note:
    """The note's first `chars` characters (0: none), then a link to `full_note_url`; `note` itself if it fits."""
    whole = EmailNote(html=note.html, text=note.text)
    cut = note_email_cut(whole, chars=chars, full_note_url=full_note_url)
    if cut is whole:
        return note
    return Note(html=cut.html, text=cut.text, key=f"{note.key}:{chars}")


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]  # end on a word boundary when one is near
    return cut.rstrip(" ,;:.-") + "…"


def mark(text: str, terms: tuple[str, ...]) -> str:
    """papers.search.highlight with the <mark> styled for email."""
    return highlight(text, terms, mark_open=MARK_OPEN)


def matched_line(matched: tuple[str, ...], terms: tuple[str, ...]) -> str:
    """The keywords that matched, each with the form found when it is not the keyword
    as typed: "CNN, as “convolutional neural networks”; GAN"."""
    shown = []
    for keyword in matched:
        form = keyword_form_found(keyword, terms)
        shown.append(f"{keyword}, as “{form}”" if form else keyword)
    return ("; " if any(", as " in s for s in shown) else ", ").join(shown)


def card_values(
    paper: PaperData, matched: tuple[str, ...], terms: tuple[str, ...], abstract_chars: int, reason: str = ""
) -> dict:
    """Raw (text) and HTML values of one card; both render paths use exactly these."""
    line = matched_line(matched, terms)
    abstract = shorten(paper.abstract, abstract_chars) if abstract_chars else ""
    # paper_data caps these already; a PaperData made any other way is capped here.
    title, authors = shorten(paper.title, TITLE_CHARS), shorten(paper.authors, AUTHORS_CHARS + len(" et al."))
    summary, why = shorten(paper.summary, SUMMARY_CHARS), reason_text(reason)
    more, fewer = vote_url(paper.id, "more"), vote_url(paper.id, "fewer")
    return {
        "text": {"url": paper.url, "title": title, "authors": authors, "abstract": abstract,
                 "arxiv_url": paper.arxiv_url, "pdf_url": paper.pdf_url, "code_url": paper.code_url,
                 "upvotes": str(paper.upvotes), "matched": line, "summary": summary,
                 "reason": why, "more_url": more, "fewer_url": fewer},
        "html": {"url": html_escape(paper.url), "title_html": mark(title, terms),
                 "authors": html_escape(authors), "abstract_html": mark(abstract, terms) if abstract else "",
                 "arxiv_url": html_escape(paper.arxiv_url), "pdf_url": html_escape(paper.pdf_url),
                 "code_url": html_escape(paper.code_url), "upvotes": str(paper.upvotes),
                 "matched": html_escape(line), "summary": html_escape(summary),
                 "reason": html_escape(why), "more_url": html_escape(more), "fewer_url": html_escape(fewer)},
    }
