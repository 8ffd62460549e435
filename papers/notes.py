"""The editor's Markdown (daily notes, paper notes) as sanitized HTML: the one renderer.

`markdown_html` renders with the Markdown library and sanitizes with nh3 to an
allow-list: the site's (headings, code blocks) or the email's plainer set.
`note_email_render` adds what the digest email needs: the note's text part, and
`note_email_cut` its cut to length. Here, in papers, because the note's admin
preview (papers.admin) shows exactly what the email will show, and papers
imports neither subscriptions nor digests.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from itertools import count, repeat

import markdown
import nh3
from django.utils.text import Truncator

# What an editor's note may contain once rendered on the site: text formatting,
# lists, quotes, code and links. No images, iframes, styles or scripts.
SITE_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "del", "sup", "sub",
}
# Email clients get the plain set.
EMAIL_NOTE_TAGS = {"p", "a", "strong", "em", "b", "i", "ul", "ol", "li", "code", "br", "blockquote"}
_ATTRIBUTES = {"a": {"href", "title"}}
_SCHEMES = {"http", "https", "mailto"}
# The email has 102 KB for everything (Gmail clips there): a longer note shows its
# start and links to the day page, which shows all of it.
EMAIL_NOTE_CHARS = 1_500
READ_ON_SITE = "Read the whole note on the site"

# The sanitized HTML has only EMAIL_NOTE_TAGS, so these small patterns see all the
# shapes there are. The innermost list is taken first, so nested lists work too.
_INNERMOST_LIST = re.compile(r"<(ul|ol)>((?:(?!<(?:ul|ol)>).)*?)</\1>", re.S)
_LIST_ITEM = re.compile(r"<li>(.*?)</li>", re.S)
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.S)
_BREAK = re.compile(r"<br\s*/?>")


@dataclass(frozen=True)
class EmailNote:
    html: str  # sanitized: safe to put in a page as is
    text: str  # the same words without the markup, for the text part


def markdown_html(text: str, *, tags: set[str] = SITE_TAGS, link_rel: str = "noopener noreferrer nofollow") -> str:
    """Editor Markdown to HTML that is safe to show: rendered, then sanitized by nh3 to `tags`."""
    # sane_lists: a numbered list after a bulleted one stays numbered.
    html = markdown.markdown(text or "", extensions=["sane_lists"], output_format="html")
    return nh3.clean(html, tags=tags, attributes=_ATTRIBUTES, url_schemes=_SCHEMES, link_rel=link_rel)


def note_email_render(body: str) -> EmailNote | None:
    """The note's Markdown as the email shows it (links get rel=noopener); None for a blank note."""
    if not body or not body.strip():
        return None
    html = markdown_html(body, tags=EMAIL_NOTE_TAGS, link_rel="noopener noreferrer")
    return EmailNote(html=html, text=_as_text(html))


def _as_text(html: str) -> str:
    """The text part: what the HTML shows without the markup, keeping list bullets and link addresses."""
    html = _BREAK.sub("\n", html)
    html = _LINK.sub(lambda m: m.group(2) if m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})", html)
    while True:
        html, found = _INNERMOST_LIST.subn(_list_as_text, html)
        if not found:
            break
    paragraphs = (unescape(nh3.clean(chunk, tags=set())).strip() for chunk in html.split("</p>"))
    return "\n\n".join(p for p in paragraphs if p).strip()


def _list_as_text(match: re.Match) -> str:
    marks = (f"{n}." for n in count(1)) if match.group(1) == "ol" else repeat("-")
    lines = []
    for mark, item in zip(marks, _LIST_ITEM.findall(match.group(2)), strict=False):
        words = "\n".join(line.strip() for line in nh3.clean(item, tags=set()).strip().splitlines() if line.strip())
        lines.append(f"{mark} " + words.replace("\n", "\n  "))
    return "<p>" + "\n".join(lines) + "</p>"


def note_email_cut(note: EmailNote, *, chars: int, full_note_url: str) -> EmailNote:
    """The note's first `chars` characters (0: none of it), then a link to all of it; the same note if it fits.

    Counts the characters a reader sees, not the markup; tags left open by the cut are closed.
    """
    if chars and len(unescape(nh3.clean(note.html, tags=set()))) <= chars:
        return note
    html = Truncator(note.html).chars(chars, html=True) if chars else ""
    link = f'<p><a href="{escape(full_note_url)}">{READ_ON_SITE}</a></p>'
    text = Truncator(note.text).chars(chars) if chars else ""
    return EmailNote(html="\n".join(filter(None, [html, link])),
                     text="\n\n".join(filter(None, [text, f"{READ_ON_SITE}: {full_note_url}"])))
