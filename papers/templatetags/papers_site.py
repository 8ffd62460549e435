"""Template filters for showing papers: readable abstracts, editor Markdown, search highlights."""
from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from papers.latex import latex_to_text
from papers.notes import markdown_html
from papers.search import highlight
from papers.sentences import split_lead

register = template.Library()

@register.filter
def markdown(text: str) -> SafeString:
    """Editor Markdown, rendered and sanitized (papers.notes)."""
    return mark_safe(markdown_html(text))  # noqa: S308 - nh3 has just removed everything outside the allow-list


@register.filter
def readable(text: str) -> str:
    """LaTeX fragments ($k$, \\times, "5times") as plain readable text (the email's conversion); still escaped."""
    return latex_to_text(text) if text else ""


@register.filter
def lead(text: str) -> str:
    return split_lead(text)[0]


@register.filter
def rest(text: str) -> str:
    return split_lead(text)[1]


@register.filter
def highlight_terms(text: str, terms: Iterable[str] | None) -> SafeString:
    """Escape text and mark the matched search terms (papers.search.highlight does the work)."""
    if not terms:
        return escape(text or "")
    return highlight(text or "", terms)


@register.filter
def author_list(authors: list[str] | None, limit: int = 0) -> str:
    """'A, B and C'; with a limit, 'A, B, C and 12 others'."""
    names = [a for a in (authors or []) if a]
    if limit and len(names) > limit + 1:
        return f"{', '.join(names[:limit])} and {len(names) - limit} others"
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
