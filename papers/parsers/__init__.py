"""Read papers out of every source format we know.

One module per format, each with `parse(text) -> Iterator[ParsedPaper]`:

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
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

FORMATS: tuple[str, ...] = ("hf-page", "arxiv-listing", "arxiv-atom", "hf-json")


@dataclass(frozen=True)
class ParsedPaper:
    """One paper as a source file shows it; empty/None where the source is silent."""

    arxiv_id: str | None
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    comments: str = ""
    categories: tuple[str, ...] = ()
    published_on: dt.date | None = None
    upvotes: int | None = None
    github_url: str = ""
    github_stars: int | None = None
    rank: int | None = None
    line: int = 0
    # The date of the list this record appeared on, when the record itself says
    # (daily_papers items do); the importer falls back to the page's date or --date.
    listed_on: dt.date | None = None
    # Hugging Face's generated one-line summary and keywords, when the source gives them.
    ai_summary: str = ""
    ai_keywords: tuple[str, ...] = ()


class ParseError(ValueError):
    """The input is not what the format promises; `line` is 1-based (0 = unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


# --- identity helpers shared by parsers and the importer -------------------------

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID_PATTERN = rf"(?:{_NEW_ID}|{_OLD_ID})(?:v\d+)?"
_ARXIV_ID_RE = re.compile(rf"^(?:arxiv:|https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/)?({_NEW_ID}|{_OLD_ID})(?:v\d+)?(?:\.pdf)?$",
                          re.IGNORECASE)


def normalize_arxiv_id(raw: str | None) -> str | None:
    """`arXiv:2202.03052v2` or its abs/pdf URL -> `2202.03052`; None when it is not an arXiv id."""
    if not raw:
        return None
    match = _ARXIV_ID_RE.match(raw.strip())
    if not match:
        return None
    value = match.group(1)
    if "/" not in value:
        yymm, number = value.split(".")
        # Months run 01-12; since 2015 (1501) the number after the dot has five digits.
        if not 1 <= int(yymm[2:]) <= 12 or (int(yymm) >= 1501) != (len(number) == 5):
            return None
    return value


_NON_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """The normalized title that identifies a paper without an arXiv id.

    Case, accents, punctuation and spacing do not matter: "Pre-Training: X" and
    "pre training  x" give the same key. At most 255 characters (the column).
    """
    if not title:
        return ""
    if title.isascii():  # the common case, and 20x faster than the Unicode path
        folded = title.lower()
    else:
        folded = unicodedata.normalize("NFKD", title).casefold()
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", folded).split())[:255]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """One line of readable text: control characters dropped, whitespace collapsed."""
    return " ".join(_CONTROL.sub(" ", value).split())


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
    from . import arxiv_atom, arxiv_listing, hf_json, hf_page

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
    from .hf_page import page_date as hf_page_date

    return hf_page_date(text, today=today)
