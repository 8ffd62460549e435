"""The editor's daily note as the digest email shows it: Markdown to sanitized HTML and text, cut to length.

Here, not in subscriptions, because the note's admin preview (papers.admin) must
show exactly what the email will show, and papers never imports subscriptions.
The site's day page renders the same Markdown richer (headings, code blocks:
papers.templatetags.papers_site.render_markdown); email clients get the plain set.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape, unescape

import markdown
import nh3
from django.utils.text import Truncator

EMAIL_NOTE_TAGS = {"p", "a", "strong", "em", "b", "i", "ul", "ol", "li", "code", "br", "blockquote"}
# The email has 102 KB for everything (Gmail clips there): a longer note shows its
# start and links to the day page, which shows all of it.
EMAIL_NOTE_CHARS = 1_500
READ_ON_SITE = "Read the whole note on the site"


@dataclass(frozen=True)
class EmailNote:
    html: str  # sanitized: safe to put in a page as is
    text: str  # the same words without the markup, for the text part


def note_email_render(body: str) -> EmailNote | None:
    """The note's Markdown as the email shows it (links get rel=noopener); None for a blank note."""
    if not body or not body.strip():
        return None
    html = nh3.clean(markdown.markdown(body), tags=EMAIL_NOTE_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    # The text part gets what the HTML shows, without the markup.
    paragraphs = (unescape(nh3.clean(chunk, tags=set())).strip() for chunk in html.split("</p>"))
    text = "\n\n".join(p for p in paragraphs if p)
    return EmailNote(html=html, text=text.strip())


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
