"""The Hugging Face papers page, as text copied out of a browser.

Two layouts exist and both are read here:

- spacious: header lines (`new`, `Get trending papers in your email inbox!`,
  `Subscribe`, `byAK and the research community`, a date such as `Mar 11`),
  then title and abstract paragraphs separated by blank lines;
- compact: one line each and no blank lines; the first title is glued to
  `Subscribe` and the page may be cut off after a title (that paper has no abstract).

Titles and abstracts mostly alternate, but a paper can lack an abstract, so
each unit is also judged by its shape: abstracts are long and made of sentences.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator

from .types import ParsedPaper, ParseError, clean_text

_HEADER_LINES = {
    "new",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "get trending papers in your email inbox",
    "subscribe",
    "byak and the research community",
    "daily papers",
    "trending papers",
}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_name) if name})
_DATE_LINE = re.compile(r"^(?P<month>[A-Za-z]{3,9})\.? (?P<day>\d{1,2})(?:,? (?P<year>\d{4}))?$")
_ISO_DATE_LINE = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})$")
# "SubscribeExploring the Limits of ...": the compact layout glues the first title
# on. Titles may start in lower case ("reStructured Pre-training", "mGPT: ...").
_GLUED_SUBSCRIBE = re.compile(r"^Subscribe(?=\S)")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
MAX_TITLE_CHARS = 300


def _is_header(line: str) -> bool:
    return line.lower() in _HEADER_LINES or _DATE_LINE.match(line) is not None or _ISO_DATE_LINE.match(line) is not None


def _date_from_line(line: str, today: dt.date) -> dt.date | None:
    iso = _ISO_DATE_LINE.match(line)
    if iso:
        try:
            return dt.date(int(iso["year"]), int(iso["month"]), int(iso["day"]))
        except ValueError:
            return None
    match = _DATE_LINE.match(line)
    if not match:
        return None
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        return None
    day = int(match["day"])
    if match["year"]:
        try:
            return dt.date(int(match["year"]), month, day)
        except ValueError:
            return None
    # No year on the page: the most recent such date not in the future.
    # Feb 29 may need up to 8 years back; anything else that fails is not a date.
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def _header_and_body(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Split into header lines and body lines (1-based line numbers, blank lines kept in the body)."""
    lines = text.lstrip("\ufeff").splitlines()
    header: list[tuple[int, str]] = []
    body_start = len(lines)
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        glued = _GLUED_SUBSCRIBE.match(line)
        if glued and not any(text == "Subscribe" for _, text in header):
            header.append((index + 1, "Subscribe"))
            rest = line[glued.end():]
            return header, [(index + 1, rest)] + [(i + 1, raw.strip()) for i, raw in enumerate(lines) if i > index]
        if _is_header(line):
            header.append((index + 1, line))
            continue
        body_start = index
        break
    return header, [(i + 1, lines[i].strip()) for i in range(body_start, len(lines))]


def page_date(text: str, *, today: dt.date | None = None) -> dt.date | None:
    """The list date in the page header (`Mar 11`, `March 11, 2024`, `2024-03-11`), or None."""
    today = today or dt.date.today()
    header, _ = _header_and_body(text)
    for _, line in header:
        found = _date_from_line(line, today)
        if found is not None:
            return found
    return None


def _units(body: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Paragraphs (spacious layout: lines joined up to a blank line) or lines (compact)."""
    has_blank = any(not line for _, line in body[:-1])
    units: list[tuple[int, str]] = []
    if not has_blank:
        cleaned = [(number, clean_text(line)) for number, line in body]
        return [(number, unit) for number, unit in cleaned if unit]
    start, parts = 0, []
    for number, line in body + [(0, "")]:
        if line:
            if not parts:
                start = number
            parts.append(line)
        elif parts:
            units.append((start, clean_text(" ".join(parts))))
            parts = []
    return [(number, unit) for number, unit in units if unit]


def _looks_like_abstract(unit: str) -> bool:
    if len(unit) > MAX_TITLE_CHARS:
        return True
    # A short abstract still has several sentences and many words; a title may
    # have two "sentences" ("When to Pre-Train GNNs? From Data Generation Perspective!").
    return len(_SENTENCE_END.findall(unit)) >= 2 and len(unit.split()) >= 30


def parse(text: str) -> Iterator[ParsedPaper]:
    """Papers in page order, `rank` 1 for the first; a cut-off last title comes without abstract."""
    _, body = _header_and_body(text)
    units = _units(body)
    papers: list[list] = []  # [line, title, abstract]
    expecting_abstract = False
    for index, (number, unit) in enumerate(units):
        if not expecting_abstract:
            if _looks_like_abstract(unit):
                if not papers:
                    raise ParseError(number, "found an abstract before any title (is this really a papers page?)")
                # A paragraph the page wrapped onto a second line.
                papers[-1][2] = f"{papers[-1][2]} {unit}".strip()
                continue
            papers.append([number, unit, ""])
            expecting_abstract = True
            continue
        following = units[index + 1][1] if index + 1 < len(units) else None
        if not _looks_like_abstract(unit) and following is not None and _looks_like_abstract(following):
            # The previous title had no abstract; this unit is the next title.
            papers.append([number, unit, ""])
            continue
        papers[-1][2] = unit
        expecting_abstract = False
    for rank, (number, title, abstract) in enumerate(papers, start=1):
        yield ParsedPaper(arxiv_id=None, title=title, abstract=abstract, rank=rank, line=number)
