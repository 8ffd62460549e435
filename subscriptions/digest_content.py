"""What a digest email says, as plain values: the papers' cards, the editor's note, the recipient.

No HTML layout here (subscriptions.digest_render) and no queries
(subscriptions.digest_selection reads the rows and builds these).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import unescape

import markdown
import nh3
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from papers.latex import latex_to_text
from papers.search import highlight

ABSTRACT_CHARS = 320
TITLE_CHARS = 300
MAX_AUTHORS = 6
# papers.search.highlight wraps words in a bare <mark>; the style goes on here, in
# both render paths, so highlighted words look the same in every mail client.
MARK_OPEN = '<mark style="background-color:#fde68a;color:#1f2328;padding:0 1px">'
NOTE_TAGS = {"p", "a", "strong", "em", "b", "i", "ul", "ol", "li", "code", "br", "blockquote"}


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


def paper_data(paper) -> PaperData:
    """PaperData from a Paper instance (needs title, abstract, authors, arxiv_id, github_url, upvotes, updated_at)."""
    authors = [a for a in (paper.authors or []) if isinstance(a, str)]
    shown = ", ".join(authors[:MAX_AUTHORS]) + (" et al." if len(authors) > MAX_AUTHORS else "")
    title = shorten(latex_to_text(paper.title or "") or f"arXiv:{paper.arxiv_id}", TITLE_CHARS)
    arxiv = f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else ""
    return PaperData(
        id=paper.id,
        version=str(paper.updated_at),
        title=title,
        authors=shown,
        abstract=latex_to_text(_lead(paper.abstract or "", 2 * ABSTRACT_CHARS)),
        url=f"{settings.SITE_URL}{reverse('papers:paper', args=[paper.id])}",
        arxiv_url=arxiv,
        pdf_url=f"https://arxiv.org/pdf/{paper.arxiv_id}" if paper.arxiv_id else "",
        code_url=paper.github_url or "",
        upvotes=max(paper.upvotes or 0, getattr(paper, "listing_upvotes", 0) or 0),
    )


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
    """The editor's note: Markdown rendered, then sanitized with nh3 (links get rel=noopener)."""
    if not body or not body.strip():
        return None
    html = nh3.clean(markdown.markdown(body), tags=NOTE_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    # The text part gets what the HTML shows, without the markup.
    text = "\n\n".join(p.strip() for p in unescape(nh3.clean(html.replace("</p>", "</p>\0"), tags=set())).split("\0"))
    return Note(html=html, text=text.strip(), key=str(hash(html)))


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]  # end on a word boundary when one is near
    return cut.rstrip(" ,;:.-") + "…"


def _marked(text: str, terms: tuple[str, ...]) -> str:
    return str(highlight(text, terms)).replace("<mark>", MARK_OPEN)


def card_values(paper: PaperData, matched: tuple[str, ...], terms: tuple[str, ...], abstract_chars: int) -> dict:
    """Raw (text) and HTML values of one card; both render paths use exactly these."""
    abstract = shorten(paper.abstract, abstract_chars) if abstract_chars else ""
    return {
        "text": {"url": paper.url, "title": paper.title, "authors": paper.authors, "abstract": abstract,
                 "arxiv_url": paper.arxiv_url, "pdf_url": paper.pdf_url, "code_url": paper.code_url,
                 "upvotes": str(paper.upvotes), "matched": ", ".join(matched)},
        "html": {"url": escape(paper.url), "title_html": _marked(paper.title, terms),
                 "authors": escape(paper.authors), "abstract_html": _marked(abstract, terms) if abstract else "",
                 "arxiv_url": escape(paper.arxiv_url), "pdf_url": escape(paper.pdf_url),
                 "code_url": escape(paper.code_url), "upvotes": str(paper.upvotes), "matched": escape(", ".join(matched))},
    }
