"""An arXiv listing as text: abstracts without titles.

Each record is an abstract, an optional comments line (`23 pages, 11 figures`),
then `arXiv:ID`. The ID line CLOSES the record above it, and the next record's
abstract is glued to the end of that same line:

    <abstract of 2206.01958>
    arXiv:2206.01958<abstract of 2202.03052>
    23 pages, 11 figures                       <- comments of 2202.03052
    arXiv:2202.03052<abstract of 2110.03888>
    ...
    arXiv:2105.15082                          <- closes the last record

Text after the last ID that no ID closes means the file was cut off: that is
a ParseError, never a paper with the wrong id.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from .types import ARXIV_ID_PATTERN, ParsedPaper, ParseError, clean_text, normalize_arxiv_id

_ID_LINE = re.compile(rf"^arXiv:\s*(?P<id>{ARXIV_ID_PATTERN})", re.IGNORECASE)
_FOUR_DIGIT_ERA = re.compile(r"^(?P<yymm>\d{4})\.\d{5}$")
_COMMENT_WORDS = re.compile(
    r"\b(\d+\s*(pages?|figures?|tables?|pp\.?)|accepted|to appear|submitted|conference|workshop|journal|"
    r"proceedings|preprint|camera[- ]ready|version|code|project page|extended|published|ICLR|ICML|NeurIPS|"
    r"ACL|EMNLP|NAACL|CVPR|ICCV|ECCV|AAAI|IJCAI|KDD|SIGIR|WWW|TPAMI|JMLR)\b",
    re.IGNORECASE,
)
_MAX_COMMENTS_CHARS = 300


def _split_comments(lines: list[tuple[int, str]]) -> tuple[str, str]:
    """(abstract, comments) from a record's lines; the comments line is the last one, when present."""
    if len(lines) >= 2:
        last = lines[-1][1]
        before = lines[-2][1]
        if len(last) <= _MAX_COMMENTS_CHARS and (
            _COMMENT_WORDS.search(last) or before.rstrip().endswith((".", "!", "?", ")", '"'))
        ):
            comments = re.sub(r"^comments:\s*", "", last, flags=re.IGNORECASE)
            return clean_text(" ".join(text for _, text in lines[:-1])), clean_text(comments)
    return clean_text(" ".join(text for _, text in lines)), ""


def parse(text: str) -> Iterator[ParsedPaper]:
    """Records in file order (`rank` 1 first), each with the id that closes it."""
    pending: list[tuple[int, str]] = []  # lines of the record not yet closed
    rank = 0
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _ID_LINE.match(line)
        if not match:
            pending.append((number, line))
            continue
        raw_id, end = match["id"], match.end()
        era = _FOUR_DIGIT_ERA.match(raw_id)
        if era and int(era["yymm"]) < 1501:
            # Ids before 2015 have four digits after the dot; a fifth digit is
            # the start of the next abstract, glued on.
            raw_id, end = raw_id[:-1], end - 1
        arxiv_id = normalize_arxiv_id(raw_id)
        if arxiv_id is None:
            raise ParseError(number, f"arXiv:{raw_id} is not a valid arXiv id")
        abstract, comments = _split_comments(pending)
        rank += 1
        yield ParsedPaper(
            arxiv_id=arxiv_id,
            title="",
            abstract=abstract,
            comments=comments[:500],
            rank=rank,
            line=pending[0][0] if pending else number,
        )
        rest = line[end:].strip()
        pending = [(number, rest)] if rest else []
    if pending:
        raise ParseError(
            pending[0][0],
            "record not closed by an arXiv:ID line (the file looks cut off; "
            "every abstract must be followed by its arXiv:ID)",
        )
    if rank == 0:
        raise ParseError(1, "no arXiv:ID lines found: not an arXiv listing")
