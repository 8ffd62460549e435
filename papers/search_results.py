"""Searching the whole archive: candidates from the index, ranked and paginated in the database,
verified by the matcher only as far as the page shown needs.

How a search runs (docs/matching.md, "The index"; docs/operations.md for the limits):

1. The keyword's key sequences (papers.search.keyword_alternatives) become a condition on
   papers_searchentry: any hit, and title hit (each key of a sequence in the title).
2. Candidates come in two tiers, each in trending order straight from the database
   (`trend` index): title hits first (the matcher matches the title alone), then the rest.
   That is the ranking: match strength as a coarse tier, then trending. The matcher's
   finer score is not re-done in SQL (it stays the matcher's).
3. Candidates are counted (up to COUNT_CAP); up to VERIFY_ALL of them are all verified.
   Beyond that they are read in ranked batches and verified by PaperIndex until the page
   is full; a candidate the matcher rejects is skipped. A request verifies at most MAX_CHECKED
   candidates and each of its index queries stops after TIME_LIMIT_MS: past either, the
   page says the query is too broad rather than holding a worker.
4. The count is exact when the whole candidate list was verified; otherwise it is "about N"
   (candidates counted in the database up to COUNT_CAP, scaled by the share the matcher
   kept), or "more than COUNT_CAP".
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from papers.acronyms import AcronymTable, acronym_table
from papers.models import Paper, code_word
from papers.search import KeywordMatch, PaperIndex, keyword_alternatives, keyword_query
from papers.search_index import (
    adjacent_code,
    closed_key_code,
    key_code,
    title_adjacent_code,
    title_closed_key_code,
    title_key_code,
)
from papers.search_keys import CASED

PAGE_SIZE = 20
MAX_CHECKED = 1000  # candidates one request may verify with the matcher
COUNT_CAP = 1000  # candidates counted exactly, at most
VERIFY_ALL = 50  # up to this many candidates, all are verified: exact count, numbered pages
TIME_LIMIT_MS = 300  # for each of a request's index queries (a handful per request)
WALK_BUDGET_SECONDS = 0.6  # no further batch of candidates is read after this long
_FIRST_BATCH_EXTRA = 3  # candidates read beyond what the page needs, for the few the matcher drops


class SearchTooBroad(Exception):
    """The query would take longer than a request may; the message is for the person searching."""


@dataclass(frozen=True)
class IndexQuery:
    """A keyword as the index sees it: SQL conditions on papers_searchentry."""

    keyword: str
    disabled: frozenset[str]  # expansions switched off
    acronyms: AcronymTable  # the corpus's, read once per search
    any_hit: tuple[str, list]  # the paper has every unit of some sequence
    title_hit: tuple[str, list]  # ... in its title


@dataclass
class SearchResults:
    """One page of search results, best first, each paper with `.keyword_match` and `.terms`."""

    papers: list[Paper]
    page: int
    page_size: int
    has_next: bool
    count: int
    count_is_exact: bool
    count_is_lower_bound: bool = False  # "more than `count`"
    limited: bool = False  # later pages are past what one request may verify: refine the query
    checked: int = field(default=0, repr=False)

    @property
    def start_index(self) -> int:
        return (self.page - 1) * self.page_size + 1

    @property
    def num_pages(self) -> int | None:
        """The number of pages when the count is exact, else None (unknown)."""
        return max(1, -(-self.count // self.page_size)) if self.count_is_exact else None


def index_query(
    keyword: str, *, disabled: frozenset[str] = frozenset(), acronyms: AcronymTable | None = None
) -> IndexQuery:
    """Raises KeywordError (a ValueError) for an empty, junk or too-long keyword."""
    if acronyms is None:
        acronyms = acronym_table()  # one read per search: the matcher below uses the same table
    sequences = list(dict.fromkeys(keyword_alternatives(keyword, disabled=disabled, acronyms=acronyms)))
    return IndexQuery(
        keyword=keyword,
        disabled=disabled,
        acronyms=acronyms,
        any_hit=_condition([_groups(sequence, key_code, closed_key_code, adjacent_code) for sequence in sequences]),
        title_hit=_condition([_groups(sequence, title_key_code, title_closed_key_code, title_adjacent_code)
                              for sequence in sequences]),
    )


def _groups(sequence: tuple[tuple[str, ...], ...], token: Callable[[str], int], closed: Callable[[str], int],
            adjacent: Callable[[str, str], int]) -> list[list[int]]:
    """Groups of codes a paper must hold one of each, to hold the sequence: each unit (as a
    token or closed up), and each two single-key units side by side (adjacent, or one of
    them closed up). Acronyms' cased units are not in the adjacency codes (stems only)."""
    groups = [sorted({token(k) for k in unit} | {closed(k) for k in unit}) for unit in sequence]
    for first, second in zip(sequence, sequence[1:], strict=False):
        if len(first) == len(second) == 1 and not first[0].startswith(CASED) and not second[0].startswith(CASED):
            a, b = first[0], second[0]
            groups.append(sorted({adjacent(a, b), closed(a), closed(b)}))
    return groups


def _condition(sequences: list[list[list[int]]]) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        alternatives, params = [], []
        for sequence in sequences:
            singles = sorted({group[0] for group in sequence if len(group) == 1})
            parts = ["codes @> %s::integer[]"] if singles else []
            params += [singles] if singles else []
            for group in sequence:
                if len(group) > 1:
                    parts.append("codes && %s::integer[]")
                    params.append(group)
            alternatives.append("(" + " AND ".join(parts) + ")")
        return "(" + " OR ".join(alternatives) + ")", params
    expression = " OR ".join(
        "(" + " AND ".join("(" + " OR ".join(code_word(c) for c in unit) + ")" for unit in sequence) + ")"
        for sequence in sequences
    )
    return (
        "paper_id IN (SELECT rowid FROM papers_searchentry_fts WHERE papers_searchentry_fts MATCH %s)",
        [expression],
    )


@contextmanager
def _time_limit(ms: int) -> Iterator[None]:
    """Cancel any statement in the block that runs longer than `ms` milliseconds (OperationalError).

    PostgreSQL: statement_timeout, SET LOCAL. SQLite: a progress handler that interrupts the
    statement once its own deadline (reset by _execute at each statement) has passed.
    """
    if connection.vendor == "postgresql":
        # SET LOCAL lasts to the end of the transaction: our own, unless a caller's is open,
        # in which case the previous value is put back.
        nested = connection.in_atomic_block
        with transaction.atomic(), connection.cursor() as cursor:
            # And no sequential scan: the planner prices a row's `codes &&` test as cheap, but
            # each one reads a 2 KB array out of TOAST (a capped count over a word in 7% of
            # 300,000 papers: 243 ms by seq scan, a few ms from the GIN index).
            cursor.execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true), "
                           "set_config('enable_seqscan', 'off', true)", [str(ms)])
            before = cursor.fetchone()[0]
            try:
                yield
            finally:
                if nested and not connection.needs_rollback:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true), "
                                   "set_config('enable_seqscan', 'on', true), "
                                   "set_config('enable_indexscan', 'on', true)", [before])
        return
    connection.ensure_connection()
    raw = connection.connection
    _deadline.seconds = ms / 1000
    _deadline.at = time.monotonic() + _deadline.seconds
    raw.set_progress_handler(lambda: time.monotonic() > _deadline.at, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
        _deadline.seconds = None


class _Deadline(threading.local):
    seconds: float | None = None
    at: float = 0.0


_deadline = _Deadline()


def _execute(cursor, sql: str, params: list) -> None:
    if _deadline.seconds is not None:  # SQLite, inside _time_limit: this statement's own time starts now
        _deadline.at = time.monotonic() + _deadline.seconds
    cursor.execute(sql, params)


def _window(listed_since: dt.date | None) -> tuple[str, list]:
    return (" AND listed_on >= %s", [listed_since]) if listed_since else ("", [])


def _ranked(tier: tuple[str, list], window: tuple[str, list], after: tuple[float, int] | None, limit: int,
            *, from_codes: bool):
    """The next `limit` candidates of a tier in rank order. `from_codes` (PostgreSQL): find them
    all in the codes index and sort them, rather than walk the trend index testing each row.

    The walk tests the whole condition on every row it passes: ~0.1-0.8 ms a row (each
    `codes &&` unpacks the row's ~530 codes; a keyword with expansions has dozens), so it is
    only quick when candidates are dense. The planner cannot tell (its estimate of an OR of
    dozens of array tests is a guess): at 300,000 papers, 'LLMs' in titles (162 papers)
    took 16.7 s by the walk, 40 ms from the codes index; the broadest title tier seen
    (12,713 papers) 247 ms by the walk, 115 ms from the codes index.
    """
    sql, params = tier[0] + window[0], tier[1] + window[1]
    if after is not None:
        sql += " AND (trend < %s OR (trend = %s AND paper_id < %s))"
        params += [after[0], after[0], after[1]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # SET LOCAL: inside _time_limit's transaction
            cursor.execute("SELECT set_config('enable_indexscan', %s, true)", ["off" if from_codes else "on"])
        _execute(
            cursor,
            f"SELECT paper_id, trend FROM papers_searchentry WHERE {sql} ORDER BY trend DESC, paper_id DESC LIMIT %s",
            params + [limit],
        )
        return cursor.fetchall()


def _count(query: IndexQuery, window: tuple[str, list], cap: int) -> int:
    sql, params = query.any_hit[0] + window[0], query.any_hit[1] + window[1]
    with connection.cursor() as cursor:
        _execute(cursor, f"SELECT count(*) FROM (SELECT 1 FROM papers_searchentry WHERE {sql} LIMIT %s) AS hits",
                 params + [cap + 1])
        return cursor.fetchone()[0]


def papers_search(
    keyword: str,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    listed_since: dt.date | None = None,
    disabled: frozenset[str] = frozenset(),
    max_checked: int = MAX_CHECKED,
    time_limit_ms: int = TIME_LIMIT_MS,
    budget_seconds: float = WALK_BUDGET_SECONDS,
    acronyms: AcronymTable | None = None,
) -> SearchResults:
    """One page of the visible papers the keyword matches: title hits first, then the rest,
    each tier by trending score. `listed_since` keeps papers last listed on or after a day;
    `disabled` names the keyword's expansions switched off (papers.search.keyword_topics).

    With at most VERIFY_ALL candidates every one is verified: the count is exact and a page
    past the end shows the last one. Bounded: verifies at most `max_checked` candidates and
    stops its queries after `time_limit_ms` (then raises SearchTooBroad). `acronyms`: the
    corpus's table when the caller already read it. Raises KeywordError for an unusable
    keyword. Read-only; a handful of queries whatever the archive's size.
    """
    keyword_query(keyword)  # KeywordError first, before any query
    query = index_query(keyword, disabled=disabled, acronyms=acronyms)
    window = _window(listed_since)
    try:
        with _time_limit(time_limit_ms):
            candidates = _count(query, window, COUNT_CAP)
            complete = candidates <= VERIFY_ALL
            need = candidates if complete else page * page_size + 1  # +1: is there a next page?
            found, checked, exhausted = _walk(query, window, need, max_checked, budget_seconds,
                                              few=candidates <= COUNT_CAP)
    except OperationalError as exc:
        raise SearchTooBroad(
            "That search matches too much of the archive to rank in time. Add a word or use a phrase."
        ) from exc
    exhausted = exhausted or complete
    if exhausted:  # a page past the end shows the last one
        page = max(1, min(page, -(-len(found) // page_size)))
        count, exact, lower_bound = len(found), True, False
    elif candidates > COUNT_CAP:
        count, exact, lower_bound = COUNT_CAP, False, True
    else:
        kept = len(found) / checked if checked else 1.0
        count, exact, lower_bound = max(len(found), round(candidates * kept)), False, False
    papers = []
    for paper, match in found[(page - 1) * page_size : page * page_size]:
        paper.keyword_match = match
        paper.terms = match.terms
        papers.append(paper)
    return SearchResults(
        papers=papers,
        page=page,
        page_size=page_size,
        has_next=len(found) > page * page_size and (page + 1) * page_size <= max_checked,
        count=count,
        count_is_exact=exact,
        count_is_lower_bound=lower_bound,
        limited=not exhausted and len(found) < page * page_size,
        checked=checked,
    )


def _walk(query: IndexQuery, window: tuple[str, list], need: int, max_checked: int,
          budget_seconds: float, *, few: bool) -> tuple[list[tuple[Paper, KeywordMatch]], int, bool]:
    """(verified papers in rank order, candidates read, whether every candidate was read).

    Reads candidates tier by tier in ranked batches (doubling), verifying each batch,
    until `need` papers are verified, the candidates run out, `max_checked` are read or
    `budget_seconds` have passed.
    Tier 1 is the papers whose title holds the keys, and keeps those the matcher matches
    on the title alone; tier 2 is every candidate again, and keeps the matched rest (a
    title that holds the words apart, "language ... models", goes there, at its trending
    place).
    Title candidates are always taken from the codes index and sorted (titles are short:
    few hold a keyword); the rest only when there are `few` of them (at most COUNT_CAP),
    else by walking the trend index, which meets enough candidates early (_ranked).
    """
    found: list[tuple[Paper, KeywordMatch]] = []
    verdicts: dict[int, _Verdict | None] = {}  # tier 2 reads tier 1's candidates again: verify each once
    checked = 0
    started = time.monotonic()
    for tier, wants_title in ((query.title_hit, True), (query.any_hit, False)):
        after = None
        batch = need - len(found) + _FIRST_BATCH_EXTRA
        while len(found) < need:
            limit = min(batch, max_checked - checked)
            if limit <= 0 or time.monotonic() - started > budget_seconds:
                return found, checked, False
            rows = _ranked(tier, window, after, limit, from_codes=wants_title or few)
            checked += len(rows)
            found += _verified(query, [paper_id for paper_id, _ in rows], in_title=wants_title, verdicts=verdicts)
            if len(rows) < limit:
                break  # this tier has no more candidates
            after = (rows[-1][1], rows[-1][0])
            batch *= 2
        else:
            return found, checked, False  # the page is full; candidates may remain
    return found, checked, True


@dataclass(frozen=True)
class _Verdict:
    """The matcher's verdict on one matched candidate."""

    paper: Paper
    match: KeywordMatch
    in_title: bool  # matched on the title alone


def _verified(query: IndexQuery, ids: list[int], *, in_title: bool,
              verdicts: dict[int, _Verdict | None]) -> list[tuple[Paper, KeywordMatch]]:
    """The papers among `ids`, in that order, that the matcher matches on the title alone
    (`in_title`) or only with the abstract (not `in_title`).

    The matcher indexes only the ids without a verdict yet (its verdict on a paper does not
    depend on the other papers indexed with it); `verdicts` (None: no match) gains theirs.
    """
    new = [i for i in ids if i not in verdicts]
    if new:
        papers = {p.id: p for p in Paper.objects.filter(id__in=new, is_hidden=False)}
        acronyms = query.acronyms
        index = PaperIndex.build(((p.id, p.title, p.abstract) for p in papers.values()), acronyms=acronyms)
        matches = {m.paper_id: m for m in index.match(query.keyword, disabled=query.disabled)}
        titles = PaperIndex.build(((i, papers[i].title, "") for i in matches), acronyms=acronyms)
        title_hits = {m.paper_id for m in titles.match(query.keyword, disabled=query.disabled)}
        for i in new:
            verdicts[i] = _Verdict(papers[i], matches[i], i in title_hits) if i in matches else None
    return [(v.paper, v.match) for i in ids if (v := verdicts[i]) is not None and v.in_title is in_title]


def papers_matching(
    keyword: str, queryset: QuerySet[Paper] | None = None, *, disabled: frozenset[str] = frozenset()
) -> list[Paper]:
    """Every visible paper the keyword matches, best match first, each with `.keyword_match`.

    Unbounded: for commands (`match_papers`) and checks, not for web requests (use
    papers_search). `queryset` narrows the candidates; `disabled` names expansions
    switched off. Raises KeywordError (a ValueError) for an empty, junk or too-long keyword.
    """
    keyword_query(keyword)
    query = index_query(keyword, disabled=disabled)
    sql, params = query.any_hit
    candidates = (Paper.objects.all() if queryset is None else queryset).filter(
        is_hidden=False, id__in=RawSQL(f"SELECT paper_id FROM papers_searchentry WHERE {sql}", params)
    )
    papers = {p.id: p for p in candidates}
    index = PaperIndex.build(((p.id, p.title, p.abstract) for p in papers.values()), acronyms=query.acronyms)
    found = []
    for match in index.match(keyword, disabled=disabled):
        paper = papers[match.paper_id]
        paper.keyword_match = match
        found.append(paper)
    return found
