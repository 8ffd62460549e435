"""The digest email rendered the slow way, as the reference digests.render must equal.

The templates with Django's engine, then premailer on the whole page: what
digests/render.py assembles from pre-inlined fragments for speed. It reads
render's private helpers on purpose: the per-subscriber values must be the
same in both paths, only the assembly differs.
"""
from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from digests import render
from digests.content import ABSTRACT_CHARS, VOTE_TOKEN, DigestInput, card_values
from papers.notes import EMAIL_NOTE_CHARS


def render_reference(d: DigestInput, *, shown: int | None = None, abstract_chars: int = ABSTRACT_CHARS,
                     note_chars: int = EMAIL_NOTE_CHARS) -> tuple[str, str, str]:
    """(subject, text, html) rendered the slow way: the templates, then premailer on the whole page."""
    render._check_generation()
    items = list(d.items[: render.MAX_PAPERS if shown is None else shown])
    more = max(d.matched_count, len(d.items)) - len(items)
    values, _ = render._shell_values(d, items, more)
    cards = []
    for number, (paper, matched, terms) in enumerate(items, 1):
        v = card_values(paper, matched, terms, abstract_chars, d.reasons.get(paper.id, ""))
        cards.append({**v["text"], "title_html": mark_safe(v["html"]["title_html"]),
                      "abstract_html": mark_safe(v["html"]["abstract_html"]), "number": number})
    note = render._email_note(d, note_chars)
    ctx = render._template_context(values=values, cards=cards, note=note,
                                   note_html=mark_safe(note.html) if note else "", more=more)
    subject = " ".join(render_to_string("emails/digest-subject.txt", ctx).split())
    text = render._strip_markers(render_to_string("emails/digest-body.txt", ctx))
    text = text.replace(VOTE_TOKEN, values["vote_token"])
    return subject, text, render._strip_markers(render._render_html(ctx)).replace(VOTE_TOKEN, values["vote_token"])
