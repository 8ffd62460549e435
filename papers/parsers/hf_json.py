"""The Hugging Face `daily_papers` API response (JSON).

A list of items shaped like

    {"paper": {"id": "2202.03052", "title": ..., "summary": ..., "authors": [{"name": ...}],
               "publishedAt": "2022-02-07T10:35:19.000Z", "upvotes": 12,
               "githubRepo": "https://github.com/...", "githubStars": 2400,
               "ai_summary": ..., "ai_keywords": [...]},
     "publishedAt": "2024-03-11T09:15:41.000Z", "numComments": 2, "title": ..., "summary": ...}

The item's own `publishedAt` is the day it was on the daily list (the listing
date); the paper's is its publication date. Items are read one at a time so an
error names the line the bad item starts on.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .types import ParsedPaper, ParseError, clean_text, normalize_arxiv_id

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_MAX_INT = 2_147_483_647  # the integer columns' ceiling
_MAX_SUMMARY = 1000  # a "one-line" summary; anything longer is not one
_MAX_KEYWORDS = 30


def _items(text: str) -> Iterator[tuple[int, Any]]:
    """(line, item) for each element of the top-level JSON list."""
    index = _WHITESPACE.match(text, 0).end()
    line = 1 + text.count("\n", 0, index)
    if text[index:index + 1] != "[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParseError(exc.lineno, f"invalid JSON: {exc.msg}") from None
        except ValueError as exc:  # e.g. a number too long to convert
            raise ParseError(line, f"invalid JSON: {exc}") from None
        raise ParseError(line, f"expected a JSON list of daily papers items, found a {type(value).__name__}")
    index += 1
    first = True
    while True:
        start = _WHITESPACE.match(text, index).end()
        line += text.count("\n", index, start)
        index = start
        if first and text[index:index + 1] == "]":
            index += 1
            break
        try:
            value, end = _DECODER.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise ParseError(exc.lineno, f"invalid JSON: {exc.msg} (is the file cut off?)") from None
        except ValueError as exc:
            raise ParseError(line, f"invalid JSON: {exc}") from None
        yield line, value
        first = False
        after = _WHITESPACE.match(text, end).end()
        line += text.count("\n", index, after)
        index = after
        separator = text[index:index + 1]
        if separator == ",":
            index += 1
            continue
        if separator == "]":
            index += 1
            break
        message = ("the list ends without ']' (is the file cut off?)" if not separator
                   else f"expected ',' or ']', found {separator!r}")
        raise ParseError(line, f"invalid JSON: {message}")
    rest = _WHITESPACE.match(text, index).end()
    if rest != len(text):
        raise ParseError(line + text.count("\n", index, rest), "invalid JSON: extra data after the list")


def _text(value: Any, field: str, line: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(line, f"{field} should be a string, found {type(value).__name__}")
    return clean_text(value)


def _count(value: Any, field: str, line: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(line, f"{field} should be a whole number, found {value!r:.40}")
    return max(0, min(value, _MAX_INT))


def _date(value: Any, field: str, line: int) -> dt.date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ParseError(line, f"{field} should be an ISO date, found {type(value).__name__}")
    try:
        moment = dt.datetime.fromisoformat(value.strip())
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ParseError(line, f"{field} {value[:40]!r} is not an ISO date") from None
    return moment.date()


def _authors(value: Any, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ParseError(line, "paper.authors should be a list")
    names = []
    for author in value:
        name = author.get("name") if isinstance(author, dict) else author
        name = _text(name, "author name", line)
        if name:
            names.append(name)
    return tuple(names)


def _keywords(value: Any, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ParseError(line, "paper.ai_keywords should be a list of strings")
    words = (_text(word, "paper.ai_keywords item", line) for word in value[:_MAX_KEYWORDS])
    return tuple(dict.fromkeys(w[:100] for w in words if w))


def _github(value: Any, line: int) -> str:
    url = _text(value, "paper.githubRepo", line)
    if url and not re.match(r"^https?://\S+$", url):
        raise ParseError(line, f"paper.githubRepo {url[:60]!r} is not a URL")
    return url if len(url) <= 500 else ""


def parse(text: str) -> Iterator[ParsedPaper]:
    """Items in file order; `rank` counts within each listing date, 1 first."""
    ranks: Counter = Counter()
    try:
        for line, item in _items(text.lstrip("\ufeff")):
            if not isinstance(item, dict):
                raise ParseError(line, f"each item should be an object, found {type(item).__name__}")
            paper = item.get("paper", {})
            if not isinstance(paper, dict):
                raise ParseError(line, "item.paper should be an object")
            raw_id = paper.get("id")
            arxiv_id = None
            if raw_id not in (None, ""):
                arxiv_id = normalize_arxiv_id(str(raw_id))
                if arxiv_id is None:
                    raise ParseError(line, f"paper.id {str(raw_id)[:40]!r} is not an arXiv id")
            title = _text(paper.get("title"), "paper.title", line) or _text(item.get("title"), "title", line)
            if not arxiv_id and not title:
                raise ParseError(line, "item has neither paper.id nor a title")
            listed_on = _date(item.get("publishedAt"), "publishedAt", line)
            ranks[listed_on] += 1
            yield ParsedPaper(
                arxiv_id=arxiv_id,
                title=title,
                abstract=(_text(paper.get("summary"), "paper.summary", line)
                          or _text(item.get("summary"), "summary", line)),
                authors=_authors(paper.get("authors"), line),
                published_on=_date(paper.get("publishedAt"), "paper.publishedAt", line),
                upvotes=_count(paper.get("upvotes"), "paper.upvotes", line),
                github_url=_github(paper.get("githubRepo"), line),
                github_stars=_count(paper.get("githubStars"), "paper.githubStars", line),
                rank=ranks[listed_on],
                line=line,
                listed_on=listed_on,
                ai_summary=_text(paper.get("ai_summary"), "paper.ai_summary", line)[:_MAX_SUMMARY],
                ai_keywords=_keywords(paper.get("ai_keywords"), line),
            )
    except RecursionError:
        raise ParseError(1, "JSON nested too deeply") from None
