"""Which papers go into whose digest, and in what order (reads only).

The selection rule
------------------
A paper is *new* for a digest dated D when its FIRST listing date falls in the
subscriber's window [start, D] and the previous digest did not show it. The
window starts on the day of their previous digest (`Subscriber.last_digest_on`,
moved forward by every build, sent or skipped); a first digest covers D alone
(the last 7 days for weekly subscribers); someone back from a long pause gets at
most MAX_WINDOW_DAYS.

Why this cannot repeat a paper: a paper has one first listing date, so it falls
in at most two consecutive windows of a subscriber, and only when that date is
the day of the earlier digest; the later digest leaves out what the earlier
one showed. Why it loses nothing: the day's list fills up during the day
(papers.schedules fetches every two hours), so the papers listed on D after
someone's D digest was built are still in their next window.

Ranking
-------
Each paper that one of the subscriber's keywords matches gets

    rank = sum of KeywordMatch.score over their keywords that match it
           + TREND_WEIGHT * trending score / the best trending score of the candidates

A match in the title scores 3, in the abstract 0.5 each (papers.search), so a
title match always beats a single abstract mention, several keywords on one
paper add up, and between papers that match alike the trending one (listings,
upvotes, recency, editor's featuring: papers.selectors) comes first. Ties go to
the newer paper. The email shows the first MAX_PAPERS; the web view all.

Cost
----
`Selector` matches each distinct keyword once (papers.search.PaperIndex) and
keeps, per keyword and window, its matches in rank order. Because the rank is
a sum of non-negative per-keyword parts, a subscriber's top N is among the top N
of each of their keywords plus the papers two of their keywords share: a few
dozen candidates instead of every match. Results are memoized per keyword set.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Max, OuterRef, QuerySet, Subquery

from papers.acronyms import acronym_table
from papers.models import DailyNote, Listing, Paper
from papers.search import KeywordError, PaperIndex
from papers.selectors import paper_trending_scores
from subscriptions.models import Digest, Keyword, Subscriber

from .content import DigestInput, PaperData, note_from_markdown, paper_data, paper_version
from .render import MAX_PAPERS

TREND_WEIGHT = 2.0
FIRST_WINDOW_DAYS = {Subscriber.Frequency.DAILY: 1, Subscriber.Frequency.WEEKLY: 7}
MAX_WINDOW_DAYS = 14
_MEMO_SIZE = 20_000  # rankings kept per keyword set and per keyword subset; cleared when full


def window_start(*, last_digest_on: dt.date | None, digest_date: dt.date, frequency: str) -> dt.date:
    """The first listing day of the digest's window [start, digest_date] (start > digest_date: empty)."""
    if last_digest_on is None:
        return digest_date - dt.timedelta(days=FIRST_WINDOW_DAYS.get(frequency, 1) - 1)
    return max(last_digest_on, digest_date - dt.timedelta(days=MAX_WINDOW_DAYS))


@dataclass(frozen=True)
class Selection:
    papers: list[int]  # best first
    matched: dict[int, list[str]]  # paper id -> the subscriber's keywords (as typed) that matched it
    terms: dict[int, list[str]]  # paper id -> words to highlight
    total: int  # how many new papers matched in all
    # paper id -> why it is here when no keyword put it there (digests.tailor): "trending", "author:<name>"
    reasons: dict[int, str] = field(default_factory=dict)


class _Entry:
    """One keyword's matches within one window, in rank order."""

    __slots__ = ("scores", "ids", "keyed", "top", "terms")

    def __init__(self, matches, boost: dict[int, float]) -> None:
        self.scores = {m.paper_id: m.score for m in matches}
        self.terms = {m.paper_id: m.terms for m in matches}
        self.ids = frozenset(self.scores)
        # (-rank value, -paper id): plain tuples sort best first, in C.
        self.keyed = sorted((-(score + boost[p]), -p) for p, score in self.scores.items())
        self.top = [-negative_id for _, negative_id in self.keyed]


class Selector:
    """Match once, select for many: the candidate papers of one digest date, indexed."""

    def __init__(self, *, digest_date: dt.date, since: dt.date, keywords: Iterable[str]) -> None:
        rows = candidate_papers(since=since, until=digest_date)
        self.first_listed = {pid: first for pid, _, _, first in rows}
        trending = paper_trending_scores(paper_ids=list(self.first_listed), as_of=digest_date) if rows else {}
        best = max(trending.values(), default=0.0) or 1.0
        self.boost = {pid: TREND_WEIGHT * trending.get(pid, 0.0) / best for pid in self.first_listed}
        self._index = PaperIndex.build(
            ((pid, title, abstract) for pid, title, abstract, _ in rows), acronyms=acronym_table()
        )
        self._matches = {key: self._match(key) for key in sorted(set(keywords))}
        self._entries: dict[tuple[str, dt.date], _Entry | None] = {}
        self._memo: dict[tuple, tuple] = {}
        self.extras: dict = {}  # digests.tailor's per-build caches (authors, trending order)

    def scores(self, keyword: str, start: dt.date) -> dict[int, float]:
        """{paper: match score} of one normalized keyword's new matches in the window from `start`."""
        entry = self._entry(keyword, start)
        return entry.scores if entry is not None else {}

    def _entry(self, keyword: str, start: dt.date) -> _Entry | None:
        key = (keyword, start)
        if key not in self._entries:
            if keyword not in self._matches:
                # A keyword added after the build began (someone confirmed or edited
                # theirs mid-build): match it now rather than call their day empty.
                self._matches[keyword] = self._match(keyword)
            first = self.first_listed
            matches = [m for m in self._matches[keyword] if first[m.paper_id] >= start]
            self._entries[key] = _Entry(matches, self.boost) if matches else None
        return self._entries[key]

    def _match(self, key: str) -> list:
        """The matches of a match key (keyword_match_key): a keyword and its switched-off expansions."""
        normalized, *disabled = key.split(_SWITCHED_OFF)
        try:
            return self._index.match(normalized, disabled=frozenset(disabled))
        except KeywordError:  # one bad keyword cannot stop a digest run
            return []

    def select(
        self,
        keywords: list[tuple[str, str]],
        start: dt.date,
        *,
        exclude: frozenset[int] = frozenset(),
        limit: int | None = MAX_PAPERS,
    ) -> Selection | None:
        """The ranked new papers for (text, match key) keyword pairs; None if nothing new matched.

        `start` begins the window, `exclude` holds the papers the previous digest
        showed. Matching the normalized form finds what matching the text finds
        (papers.search), so each distinct keyword is matched once for everyone.
        """
        by_key: dict[str, str] = {}
        for text, key in keywords:
            by_key.setdefault(key, text)
        entries = [(k, e) for k in sorted(by_key) if (e := self._entry(k, start)) is not None]
        if not entries:
            return None
        depth = None if limit is None else limit + len(exclude)
        memo_key = (start, depth, *(k for k, _ in entries))
        hit = self._memo.get(memo_key)
        if hit is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            hit = self._memo[memo_key] = self._rank([e for _, e in entries], depth)
        ranked, total = hit
        if exclude:
            ranked = [p for p in ranked if p not in exclude]
            total -= sum(1 for p in exclude if any(p in e.ids for _, e in entries))
        if limit is not None:
            ranked = ranked[:limit]
        if not ranked:
            return None
        matched, terms = {}, {}
        for pid in ranked:
            hits = [(k, e) for k, e in entries if pid in e.ids]
            matched[pid] = [by_key[k] for k, _ in hits]
            if len(hits) == 1:
                terms[pid] = hits[0][1].terms[pid]
            else:
                seen: dict[str, None] = {}
                for _, e in hits:
                    seen.update(dict.fromkeys(e.terms[pid]))
                terms[pid] = tuple(seen)
        return Selection(papers=list(ranked), matched=matched, terms=terms, total=total)

    def _rank(self, entries: list[_Entry], depth: int | None) -> tuple[tuple[int, ...], int]:
        """(the best `depth` papers, or all; how many match in all) by boost + the sum of matching scores.

        A paper matched by exactly the keywords S ranks among the best `depth` of the
        papers all of S match, scored on S alone: otherwise `depth` papers there score
        at least as well on S, and more with any other keyword. So the overall top
        is within the union of those per-subset tops (memoized per subset: popular
        pairs recur across subscribers), and a subset's list can stop where its
        scores fall below the best found so far.
        """
        if len(entries) == 1:
            top = entries[0].top
            return tuple(top if depth is None else top[:depth]), len(top)
        key = _full_key(entries, self.boost)
        subsets = _subsets(entries) if depth is not None else None
        if subsets is None:  # a full list, or too many keywords overlapping: rank the whole union
            union = frozenset().union(*(e.ids for e in entries))
            ranked = sorted(union, key=key)
            return tuple(ranked if depth is None else ranked[:depth]), len(union)
        total = sum(len(ids) if len(subset) % 2 else -len(ids) for subset, ids in subsets)  # inclusion-exclusion
        shared = [(subset, ids) for subset, ids in subsets if len(subset) > 1]
        # Each keyword's best, keyed on that keyword alone: exact for papers no other keyword matches.
        keyed: dict[int, tuple[float, int]] = {}
        for e in entries:
            for item in e.keyed[:depth]:
                keyed[-item[1]] = item
        if shared:
            everywhere = frozenset().union(*(ids for _, ids in shared))
            for pid in everywhere.intersection(keyed):
                keyed[pid] = key(pid)
            best = sorted(keyed.values())[:depth]
            bar = best[-1][0] if len(best) == depth else float("inf")
            for subset, ids in shared:
                for item in self._subset_top(subset, ids, depth):
                    if item[0] > bar:
                        break
                    pid = -item[1]
                    if pid not in keyed or keyed[pid][0] > item[0]:
                        keyed[pid] = key(pid)
        return tuple(-negative_id for _, negative_id in sorted(keyed.values())[:depth]), total

    def _subset_top(self, subset: tuple[_Entry, ...], ids: frozenset[int], depth: int) -> list[tuple[float, int]]:
        """(-score on the subset's keywords, -paper) of the best `depth` papers all of them match."""
        memo_key = ("subset", depth, *map(id, subset))
        top = self._memo.get(memo_key)
        if top is None:
            boost = self.boost
            ranked = sorted((-(boost[p] + sum(e.scores[p] for e in subset)), -p) for p in ids)
            top = self._memo[memo_key] = ranked[:depth]
        return top


def _full_key(entries: list[_Entry], boost: dict[int, float]):
    """The sort key (best first) over every keyword of a subscriber; unrolled for the usual sizes."""
    if len(entries) == 2:
        a, b = entries[0].scores.get, entries[1].scores.get
        return lambda p: (-(boost[p] + a(p, 0.0) + b(p, 0.0)), -p)
    if len(entries) == 3:
        a, b, c = entries[0].scores.get, entries[1].scores.get, entries[2].scores.get
        return lambda p: (-(boost[p] + a(p, 0.0) + b(p, 0.0) + c(p, 0.0)), -p)
    gets = [e.scores.get for e in entries]
    return lambda p: (-(boost[p] + sum(g(p, 0.0) for g in gets)), -p)


_MAX_SUBSETS = 64


def _subsets(entries: list[_Entry]) -> list[tuple[tuple[_Entry, ...], frozenset[int]]] | None:
    """Every subset of keywords whose matches share a paper, with the shared papers; None if too many."""
    found = [((e,), e.ids) for e in entries]
    frontier = [(i, (e,), e.ids) for i, e in enumerate(entries)]
    while frontier:
        grown = []
        for last, subset, ids in frontier:
            for j in range(last + 1, len(entries)):
                both = ids & entries[j].ids
                if both:
                    grown.append((j, subset + (entries[j],), both))
        found += [(subset, ids) for _, subset, ids in grown]
        if len(found) > _MAX_SUBSETS:
            return None
        frontier = grown
    return found


_SWITCHED_OFF = "\x1f"  # joins a normalized keyword and its switched-off expansions into a match key


def keyword_match_key(normalized: str, disabled: list[str]) -> str:
    """What the Selector matches once for everyone with this keyword and these switches:
    the normalized keyword, alone when nothing is switched off (nearly always)."""
    return _SWITCHED_OFF.join([normalized, *sorted(disabled)]) if disabled else normalized


def keywords_distinct(subscribers: QuerySet[Subscriber]) -> list[str]:
    """Each match key of these subscribers' keywords, once: what the Selector matches."""
    # order_by(): Keyword's default ordering would put its id into the DISTINCT and
    # return every keyword row (3,000,000 strings for 1,000,000 subscribers: 500 MB).
    keywords = Keyword.objects.filter(subscriber__in=subscribers.values("id")).order_by()
    keys = set(keywords.values_list("normalized", flat=True).distinct())
    # Switched-off expansions are rare: a second, small query, not a JSON column on every row.
    switched = keywords.exclude(disabled_expansions=[]).values_list("normalized", "disabled_expansions").distinct()
    keys.update(keyword_match_key(normalized, disabled) for normalized, disabled in switched)
    return list(keys)


def candidate_papers(*, since: dt.date, until: dt.date) -> list[tuple[int, str, str, dt.date]]:
    """(id, title, text, first listing date) of visible papers first listed in [since, until].

    The text is the abstract, then the source's keywords (Hugging Face `ai_keywords`)
    when it gave some, each its own phrase: keywords match them like the abstract.
    """
    first = Listing.objects.filter(paper=OuterRef("pk")).order_by("listed_on").values("listed_on")[:1]
    listed = Listing.objects.filter(listed_on__gte=since, listed_on__lte=until).values("paper_id")
    rows = (
        Paper.objects.filter(is_hidden=False, pk__in=listed)
        .annotate(first_listed=Subquery(first))
        .filter(first_listed__gte=since, first_listed__lte=until)
        .order_by("id")
        .values_list("id", "title", "abstract", "first_listed", "ai_keywords")
    )
    return [(pid, title, _with_keywords(abstract, keywords), first) for pid, title, abstract, first, keywords in rows]


def _with_keywords(abstract: str, keywords) -> str:
    words = [k for k in keywords or () if isinstance(k, str) and k.strip()]
    return f"{abstract}\n\n" + ".\n\n".join(words) if words else abstract


# --- what one email is made of ------------------------------------------------------------------


def day_note(digest_date: dt.date):
    return note_from_markdown(day_note_body(digest_date))


def day_note_body(digest_date: dt.date) -> str:
    """The Markdown of a day's editor's note, "" when there is none."""
    return DailyNote.objects.filter(date=digest_date).values_list("body", flat=True).first() or ""


_PAPERS: dict = {}  # paper id -> PaperData; key 0 holds the SITE_URL they were made for


def papers_data(paper_ids: Iterable[int]) -> dict[int, PaperData]:
    """PaperData of the visible papers among `paper_ids`.

    A worker sends the same papers in batch after batch: each is read and prepared
    once per version (`updated_at`), and only the versions are read again.
    """
    if _PAPERS.get(0) != settings.SITE_URL:  # card links start with the site's URL
        _PAPERS.clear()
        _PAPERS[0] = settings.SITE_URL
    versions = _visible_versions(set(paper_ids))
    stale = [pid for pid, v in versions.items() if pid not in _PAPERS or _PAPERS[pid].version != v]
    if stale:
        if len(_PAPERS) > 50_000:
            _PAPERS.clear()
        fields = ("id", "title", "abstract", "authors", "arxiv_id", "github_url", "upvotes", "updated_at",
                  "ai_summary")
        stale_papers = (Paper.objects.filter(pk__in=stale).only(*fields)
                        .annotate(listing_upvotes=Max("listings__upvotes")))
        for paper in stale_papers:
            _PAPERS[paper.id] = paper_data(paper)
    return {pid: _PAPERS[pid] for pid in versions if pid in _PAPERS and pid}


def _visible_versions(ids: set[int]) -> dict[int, str]:
    """{paper id: version} of the visible papers among ids (every batch asks, for ~1,000 ids)."""
    if connection.vendor != "postgresql":
        rows = Paper.objects.filter(pk__in=ids, is_hidden=False).values_list("id", "updated_at")
    else:
        import psycopg

        # One array parameter, bound by the server, instead of a thousand quoted in Python.
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(f"SELECT id, updated_at FROM {Paper._meta.db_table} WHERE NOT is_hidden AND id = ANY(%s)",
                           [list(ids)])
            rows = cursor.fetchall()
    return {pid: paper_version(updated_at) for pid, updated_at in rows}


# The columns an email is made from: one row per digest, no model instances (a batch reads 500).
ROW_FIELDS = ("id", "digest_date", "papers", "matches", "terms", "matched_count", "subscriber_id",
              "subscriber__email", "subscriber__token_version", "subscriber__frequency", "reasons",
              "subscriber__status")  # the status last: digests.services.send reads row[-1]


def digest_inputs(rows: list[tuple], *, note_bodies: dict[dt.date, str] | None = None) -> list[DigestInput]:
    """DigestInput for each row of ROW_FIELDS, in a fixed number of queries (keywords, papers, notes).

    Papers hidden by an editor since the build are left out. `note_bodies` (date ->
    Markdown) gives the notes to use, read by the caller (the send step records the
    same text it sends); without it, each day's current note.
    """
    if not rows:
        return []
    wanted = {r[6] for r in rows}
    low, high = min(wanted), max(wanted)
    # A batch's subscribers are mostly consecutive (rows are built in subscriber order):
    # a range beats binding hundreds of ids; scattered ones (retries) get the IN list.
    where = {"subscriber_id__gte": low, "subscriber_id__lte": high} if high - low < 4 * len(wanted) else {
        "subscriber_id__in": wanted}
    keywords: dict[int, list[str]] = {sid: [] for sid in wanted}
    typed = Keyword.objects.filter(**where).order_by("subscriber_id", "id").values_list("subscriber_id", "text")
    for sid, text in typed:
        if sid in keywords:
            keywords[sid].append(text)
    papers = papers_data({pid for r in rows for pid in r[2]})
    days = {r[1] for r in rows}
    notes = {day: note_from_markdown(note_bodies[day]) if note_bodies is not None else day_note(day) for day in days}
    return [_input(r, keywords.get(r[6], []), papers, notes[r[1]]) for r in rows]


def digest_rows(**filters) -> list[tuple]:
    return list(Digest.objects.filter(**filters).order_by("id").values_list(*ROW_FIELDS))


def _input(row: tuple, keywords: list[str], papers: dict[int, PaperData], note) -> DigestInput:
    digest_id, day, chosen, matches, terms, matched_count, sid, email, token_version, frequency, reasons, _ = row
    items = [(papers[pid], tuple(matches.get(str(pid), ())), tuple(terms.get(str(pid), ())))
             for pid in chosen if pid in papers]
    return DigestInput(
        digest_id=digest_id, digest_date=day, subscriber_id=sid, token_version=token_version, email=email,
        frequency=frequency, keywords=tuple(keywords), items=items,
        matched_count=max(matched_count - (len(chosen) - len(items)), len(items)), note=note,
        reasons={int(pid): why for pid, why in reasons.items()} if reasons else {},
    )
