"""An arXiv export API response (Atom XML), read with feedparser.

Each `<entry>` carries the id with its version (`http://arxiv.org/abs/2202.03052v2`),
title, summary, authors, categories with the primary one first, `arxiv:comment`,
published/updated dates and links. The API reports errors as an entry whose id
points at `/api/errors`: that becomes a ParseError with the API's message.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import xml.sax
from collections.abc import Iterator

import feedparser

from .types import ParsedPaper, ParseError, clean_text, normalize_arxiv_id

_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?entry[\s>/]")


def _entry_lines(text: str) -> list[int]:
    lines, last, line = [], 0, 1
    for match in _ENTRY_START.finditer(text):
        line += text.count("\n", last, match.start())
        last = match.start()
        lines.append(line)
    return lines


def _date(parsed) -> dt.date | None:
    if not parsed:
        return None
    try:
        return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    except (ValueError, TypeError, AttributeError):
        return None


def _categories(entry) -> tuple[str, ...]:
    found: list[str] = []
    primary = entry.get("arxiv_primary_category") or {}
    terms = [primary.get("term") if isinstance(primary, dict) else None]
    terms += [tag.get("term") for tag in entry.get("tags", []) if isinstance(tag, dict)]
    for term in terms:
        term = clean_text(term or "")
        if term and term not in found:
            found.append(term)
    return tuple(found)


def parse(text: str) -> Iterator[ParsedPaper]:
    """Entries in feed order (`rank` 1 first); ids without their version suffix."""
    try:
        # Bytes in a stream: feedparser would fetch a string that looks like a URL
        # or open one that looks like a path.
        feed = feedparser.parse(io.BytesIO(text.encode("utf-8", "replace")))
    except RecursionError:
        raise ParseError(1, "XML nested too deeply") from None
    except Exception as exc:  # feedparser's own failures are not our input's fault
        raise ParseError(1, f"not readable as XML: {exc}") from None
    problem = feed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXException):
        line = problem.getLineNumber() if isinstance(problem, xml.sax.SAXParseException) else 1
        raise ParseError(line or 1, f"broken XML ({problem.getMessage()}); is the file cut off?")
    if not str(feed.get("version") or "").startswith("atom"):
        raise ParseError(1, "not an Atom feed (expected an arXiv API response)")
    lines = _entry_lines(text)
    for index, entry in enumerate(feed.entries):
        line = lines[index] if index < len(lines) else 0
        raw_id = clean_text(entry.get("id", ""))
        if "/api/errors" in raw_id:
            raise ParseError(line, f"arXiv API error: {clean_text(entry.get('summary', '')) or raw_id}")
        arxiv_id = normalize_arxiv_id(raw_id)
        if arxiv_id is None:
            raise ParseError(line, f"entry id {raw_id[:80]!r} is not an arXiv id" if raw_id
                             else "entry without an <id>")
        title = clean_text(entry.get("title", ""))
        if not title:
            raise ParseError(line, f"entry {arxiv_id} has no <title>")
        authors = tuple(
            name
            for name in (clean_text(a.get("name", "")) for a in entry.get("authors", []) if isinstance(a, dict))
            if name
        )
        yield ParsedPaper(
            arxiv_id=arxiv_id,
            title=title,
            abstract=clean_text(entry.get("summary", "")),
            authors=authors,
            comments=clean_text(entry.get("arxiv_comment", ""))[:500],
            categories=_categories(entry),
            published_on=_date(entry.get("published_parsed")),
            rank=index + 1,
            line=line,
        )
