"""What every parser shares: the record they yield, the error they raise, and the
text and identity helpers (arXiv ids, title keys) the importer uses too.

Its own module so that the parsers and the package's `__init__` (which picks a
parser) import it, and not each other.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass


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
