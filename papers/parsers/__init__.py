"""Read papers out of every source format we know.

One module per format, each with `parse(text) -> Iterator[ParsedPaper]` (the
record and the helpers they share are in `types.py`):

| format          | module            | what it is                                            |
| --------------- | ----------------- | ----------------------------------------------------- |
| `hf-page`       | `hf_page`         | the Hugging Face papers page, spacious or compact     |
| `arxiv-listing` | `arxiv_listing`   | abstracts closed by `arXiv:ID` lines, no titles       |
| `arxiv-atom`    | `arxiv_atom`      | an arXiv export API response (Atom XML)               |
| `hf-json`       | `hf_json`         | the Hugging Face `daily_papers` API response (JSON)   |

Parsers never touch the database and never raise anything but `ParseError`
(property-based tests hold them to that), whatever text they are given.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

from . import arxiv_atom, arxiv_listing, hf_json, hf_page
from .types import ARXIV_ID_PATTERN, ParsedPaper, ParseError, clean_text, normalize_arxiv_id, title_key

__all__ = [
    "ARXIV_ID_PATTERN", "FORMATS", "ParseError", "ParsedPaper", "clean_text", "detect_format", "get_parser",
    "normalize_arxiv_id", "page_date", "parse", "title_key",
]

FORMATS: tuple[str, ...] = ("hf-page", "arxiv-listing", "arxiv-atom", "hf-json")


# --- format detection --------------------------------------------------------------

_HF_MARKERS = ("get trending papers in your email inbox", "byak and the research community")
_LISTING_ID_LINE = re.compile(rf"^arXiv:{ARXIV_ID_PATTERN}", re.MULTILINE)


def detect_format(text: str) -> str:
    """The format of `text`, one of FORMATS; ParseError(1, ...) when it is none of them."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    if not head:
        raise ParseError(1, "empty file")
    if head.startswith("<"):
        lowered = head.lower()
        if "<feed" in lowered or "http://www.w3.org/2005/atom" in lowered:
            return "arxiv-atom"
        raise ParseError(1, "XML that is not an Atom feed (expected an arXiv API response)")
    if head[0] in "[{":
        return "hf-json"
    first_lines = [line.strip().lower() for line in head.splitlines()[:12]]
    if any(marker in line for line in first_lines for marker in _HF_MARKERS):
        return "hf-page"
    if _LISTING_ID_LINE.search(text):
        return "arxiv-listing"
    raise ParseError(
        1,
        "unrecognized format: expected a Hugging Face papers page, an arXiv listing, "
        "arXiv Atom XML or daily_papers JSON (use --format to say which)",
    )


def get_parser(fmt: str) -> Callable[[str], Iterator[ParsedPaper]]:
    """The `parse` function for a format name from FORMATS."""
    parsers = {
        "hf-page": hf_page.parse,
        "arxiv-listing": arxiv_listing.parse,
        "arxiv-atom": arxiv_atom.parse,
        "hf-json": hf_json.parse,
    }
    try:
        return parsers[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None


def parse(text: str, fmt: str = "auto") -> Iterator[ParsedPaper]:
    """Parse `text` in format `fmt` ("auto" detects it)."""
    return get_parser(detect_format(text) if fmt == "auto" else fmt)(text)


def page_date(text: str, fmt: str = "auto", *, today: dt.date | None = None) -> dt.date | None:
    """The date a page says it lists (HF pages: `Mar 11`), or None when it carries none.

    A date without a year is the most recent such date not after `today`
    (default: the current date).
    """
    if fmt == "auto":
        try:
            fmt = detect_format(text)
        except ParseError:
            return None
    if fmt != "hf-page":
        return None
    return hf_page.page_date(text, today=today)
