"""The persistent search index: which keys each paper can be found by, kept in the database.

The matcher (papers.search.PaperIndex) is the one judge of "does paper P match keyword K";
this index only finds its CANDIDATES without reading every paper. Per visible paper, one
`SearchEntry` row holds the codes of the paper's keys: every key PaperIndex files the paper
under (stems, cased forms of acronyms, closed pairs of adjacent words), once for the paper
and once more, under a second code, for its title (so the database can rank title hits
first). A keyword's key sequences (papers.search.keyword_alternatives) become a boolean
query on codes: PostgreSQL answers it from a GIN index, SQLite from an FTS5 table
(docs/matching.md, "The index").

The contract with the matcher (docs/search.md): whenever PaperIndex matches P for K, some
sequence of keyword_alternatives(K) has, for every unit, a key coded in paper_codes(P); and
the matcher matches a sequence's units at consecutive positions, so two single-key units
next to each other are adjacent tokens of P, or one of them is written as two words closed
up. Codes are 32-bit CRCs: two keys may share a code, which only adds candidates; the
matcher drops them.

Writes: `search_index_update` for given papers (import, curation, admin edits) and
`search_index_rebuild` for all (`manage.py search_index_rebuild`).
"""
from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Callable, Iterable, Iterator

from django.db import transaction

from papers.models import Paper, SearchEntry
from papers.search_keys import ASCII_TOKEN, TOKEN, cased_forms, fold, stem, stems
from papers.selectors import HALF_LIFE_DAYS, papers_with_listing_stats, trending_score

_CHUNK = 500  # papers per read and per bulk write
_TITLE_SEED = 0x7117E  # a second CRC start value: the same key in a title gets another code
_NO_SCORE = -1.0e6  # trend of a paper with nothing to score yet: below every scored one, newest first


# --- keys and codes ------------------------------------------------------------------------


def _parts(text: str) -> tuple[set[str], set[str], list[str], set[tuple[str, str]]]:
    """(lowercase tokens, closed pairs of adjacent words, cased keys, adjacent tokens) of a text.

    Adjacent: every two consecutive tokens (digits too), as the matcher's pair filter
    sees them, and across a possessive "s" ("BERT's model": BERT, model); never across
    a field. A superset again: punctuation between them does not count.
    """
    if text.isascii():
        tokens = ASCII_TOKEN.findall(text)
        lower = ASCII_TOKEN.findall(text.lower())  # lowercasing ASCII moves no token boundary
    else:
        tokens = TOKEN.findall(text)
        lower = [w if w.isascii() else fold(w) for w in (t.lower() for t in tokens)]
    closed: set[str] = set()
    adjacent: set[tuple[str, str]] = set()
    prev = before_s = None  # the previous token; the one before an "s"
    for word in lower:
        if prev is not None:
            adjacent.add((prev, word))
            if before_s is not None:
                adjacent.add((before_s, word))
            if not word.isdigit():
                if not prev.isdigit():
                    closed.add(prev + word)
                if before_s is not None and not before_s.isdigit():
                    closed.add(before_s + word)
        before_s = prev if word == "s" else None
        prev = word
    cased = []
    for token in set(tokens):
        if len(token) > 1 and not token[1:].islower() and not token.isdigit():  # BERT, BERTs, LoRA, mBERT
            cased += cased_forms(token)
    return set(lower), closed, cased, adjacent


# Four kinds of code, told apart by the CRC's start value: a key written as one token (or
# an acronym's cased form), a key written as two words closed up, two keys written next
# to each other (what lets a phrase's candidates be nearly only its matches), and a key in
# the title (the ranking's first tier).
_CLOSED_SEED = 0xC105ED
_ADJACENT_SEED = 0xAD7AC
# ...and the same three again for the title alone.
_TITLE_CLOSED_SEED = 0x7C105ED
_TITLE_ADJACENT_SEED = 0x7AD7AC


def key_code(key: str) -> int:
    """The code of a key written as one token (or a cased form): its CRC-32, signed 32-bit."""
    return _signed(zlib.crc32(key.encode()))


def closed_key_code(key: str) -> int:
    """The code of a key written as two adjacent words closed up ("pre training" -> pretrain)."""
    return _signed(zlib.crc32(key.encode(), _CLOSED_SEED))


def adjacent_code(first: str, second: str) -> int:
    """The code of two keys on adjacent tokens."""
    return _signed(zlib.crc32(f"{first} {second}".encode(), _ADJACENT_SEED))


def title_key_code(key: str) -> int:
    """key_code, for the title alone."""
    return _signed(zlib.crc32(key.encode(), _TITLE_SEED))


def title_closed_key_code(key: str) -> int:
    """closed_key_code, for the title alone."""
    return _signed(zlib.crc32(key.encode(), _TITLE_CLOSED_SEED))


def title_adjacent_code(first: str, second: str) -> int:
    """adjacent_code, for the title alone."""
    return _signed(zlib.crc32(f"{first} {second}".encode(), _TITLE_ADJACENT_SEED))


def _signed(crc: int) -> int:
    return crc - 0x1_0000_0000 if crc & 0x8000_0000 else crc


def paper_codes(title: str, abstract: str) -> list[int]:
    """The codes a paper's index entry holds (the kinds above)."""
    get = stems.get
    crc = zlib.crc32
    codes: set[int] = set()
    for text, seeds in ((abstract or "", ((0, _CLOSED_SEED, _ADJACENT_SEED),)),
                        (title or "", ((0, _CLOSED_SEED, _ADJACENT_SEED),
                                       (_TITLE_SEED, _TITLE_CLOSED_SEED, _TITLE_ADJACENT_SEED)))):
        words, closed, cased, adjacent = _parts(text)
        keys = {w: get(w) or stem(w) for w in words}
        single = [k.encode() for k in set(keys.values())] + [key.encode() for key in cased]
        closed_up = [(get(w) or stem(w)).encode() for w in closed]
        pairs = [f"{keys[a]} {keys[b]}".encode() for a, b in adjacent]
        for token_seed, closed_seed, adjacent_seed in seeds:
            codes.update([crc(k, token_seed) for k in single])
            codes.update([crc(k, closed_seed) for k in closed_up])
            codes.update([crc(k, adjacent_seed) for k in pairs])
    return [c - 0x1_0000_0000 if c & 0x8000_0000 else c for c in codes]


# --- the ranking input --------------------------------------------------------------------


def trend_key(*, listings: int, best_rank: int | None, upvotes: int, is_featured: bool, seen_on: dt.date) -> float:
    """A number that orders papers as their trending score does on any later date.

    score(as_of) = base * 2 ** -((as_of - seen_on) / HALF_LIFE_DAYS) (papers.selectors), so
    log2(score) = log2(base) + seen_on / HALF_LIFE_DAYS - as_of / HALF_LIFE_DAYS: the last
    term is the same for every paper on a given day. Stored once, right for every day.
    """
    base = trending_score(listings=listings, best_rank=best_rank, upvotes=upvotes, is_featured=is_featured, age_days=0)
    days = seen_on.toordinal() / HALF_LIFE_DAYS
    return math.log2(base) + days if base > 0 else _NO_SCORE + days


def _entry(paper: Paper) -> SearchEntry:
    upvotes = max(paper.upvotes or 0, paper.listing_upvotes or 0)
    seen_on = paper.last_listed_on or paper.published_on or paper.created_at.date()
    return SearchEntry(
        paper_id=paper.id,
        codes=paper_codes(paper.title, paper.abstract),
        trend=trend_key(listings=paper.listing_count, best_rank=paper.best_rank, upvotes=upvotes,
                        is_featured=paper.is_featured, seen_on=seen_on),
        listed_on=paper.last_listed_on,
    )


def _papers(ids: list[int]) -> Iterator[Paper]:
    query = papers_with_listing_stats(Paper.objects.filter(id__in=ids), dt.date.max).only(
        "id", "title", "abstract", "is_hidden", "upvotes", "is_featured", "published_on", "created_at"
    )
    return iter(query.order_by())


# --- writes -------------------------------------------------------------------------------


def search_index_update(*, paper_ids: Iterable[int]) -> int:
    """Bring the index entries of these papers up to date with their rows and listings.

    Call after any write that changes a paper's title, abstract, visibility, upvotes,
    featuring or listings. Visible papers get a fresh entry, hidden and deleted ones lose
    theirs. Idempotent; atomic (inside the caller's transaction if there is one). Returns
    how many entries it wrote. A few queries per 500 papers.
    """
    ids = sorted(set(paper_ids))
    written = 0
    with transaction.atomic():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            entries = [_entry(p) for p in _papers(chunk) if not p.is_hidden]
            SearchEntry.objects.filter(paper_id__in=chunk).delete()
            SearchEntry.objects.bulk_create(entries, batch_size=_CHUNK)
            written += len(entries)
    return written


def search_index_rebuild(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the whole index from the papers table; returns the number of entries.

    For after an upgrade that changes the key rules, or a database restored without its
    index. Each batch of 500 papers is its own transaction: searches keep working (on a
    partly old index) while it runs, and an interruption loses at most one batch of
    work; run it again to finish. `progress(done, total)` is called after each batch.
    """
    ids = list(Paper.objects.order_by("id").values_list("id", flat=True))
    SearchEntry.objects.exclude(paper_id__in=Paper.objects.filter(is_hidden=False).values("id")).delete()
    written = 0
    for start in range(0, len(ids), _CHUNK):
        written += search_index_update(paper_ids=ids[start : start + _CHUNK])
        if progress is not None:
            progress(min(start + _CHUNK, len(ids)), len(ids))
    return written
