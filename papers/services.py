"""Writes to papers: importing them from source files.

Identity and merge rules (docs/importing.md has the long form):

- a paper is its arXiv id without version when known, else its normalized
  title (`Paper.title_key`, see `papers.parsers.title_key`);
- a richer source fills what a poorer one lacks: empty text/list/date fields
  are filled, a value already there is kept; upvotes and GitHub stars keep the
  highest count seen. So re-importing the same files changes nothing;
- a title-only paper (HF page) becomes the arXiv paper with the same
  normalized title when a record carrying both arrives: it takes the id if no
  paper has it yet, or is merged into the paper that has it (its listings and
  editor flags move over, the title-only row goes);
- each appearance on a dated list is one `Listing` (paper, date, source).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from papers.acronyms import acronyms_record
from papers.models import Listing, Paper
from papers.parsers import FORMATS, ParsedPaper, ParseError, detect_format, get_parser, normalize_arxiv_id, page_date
from papers.parsers import title_key as make_title_key
from papers.search_index import search_index_update

logger = logging.getLogger(__name__)

# Larger than any real source response (a daily_papers page is ~0.5 MB, an arXiv
# API page of 2,000 entries ~5 MB, 10,000 papers as daily_papers JSON ~35 MB);
# a bigger file is refused whole rather than read into memory.
MAX_IMPORT_BYTES = 40 * 1024 * 1024
# In these formats a file with no papers means we misread it; an API response
# (Atom, JSON) may legitimately list none.
_FORMATS_THAT_MUST_HAVE_PAPERS = {"hf-page", "arxiv-listing"}
_CHUNK = 500  # ids per IN (...) query and rows per bulk statement
_FILL_FIELDS = ("title", "abstract", "authors", "comments", "categories", "published_on", "github_url",
                "ai_summary", "ai_keywords")
_COUNT_FIELDS = ("upvotes", "github_stars")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


@dataclass
class ImportCounts:
    """What an import did, one count per record read."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


@dataclass
class FileImportResult:
    """The outcome of importing one file; `error` is "name:line: message" when nothing was imported."""

    name: str
    format: str
    listed_on: dt.date | None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Slot:
    """One paper as the import sees it: a loaded or new row, what changed, its listings."""

    __slots__ = ("paper", "is_new", "changed", "listings", "merged_into", "losers")

    def __init__(self, paper: Paper, *, is_new: bool) -> None:
        self.paper = paper
        self.is_new = is_new
        self.changed: set[str] = set()
        self.listings: dict[tuple[dt.date, str], Listing] = {}
        self.merged_into: _Slot | None = None
        self.losers: list[_Slot] = []

    def final(self) -> _Slot:
        slot = self
        while slot.merged_into is not None:
            slot = slot.merged_into
        return slot


@dataclass
class _Outcome:
    slot: _Slot | None
    day: dt.date | None = None
    rank: int = 0
    upvotes: int = 0
    first: bool = False
    changed: bool = False
    skipped: bool = False


@dataclass
class _Plan:
    by_id: dict[str, _Slot] = field(default_factory=dict)
    orphans: dict[str, _Slot] = field(default_factory=dict)  # title-only papers by title_key
    by_key: dict[str, _Slot] = field(default_factory=dict)  # papers with an arXiv id, by title_key
    slots: list[_Slot] = field(default_factory=list)

    def add(self, paper: Paper, *, is_new: bool) -> _Slot:
        slot = _Slot(paper, is_new=is_new)
        self.slots.append(slot)
        self._index(slot)
        return slot

    def _index(self, slot: _Slot) -> None:
        paper = slot.paper
        if paper.arxiv_id:
            self.by_id.setdefault(paper.arxiv_id, slot)
            if paper.title_key:
                self.by_key.setdefault(paper.title_key, slot)
        elif paper.title_key:
            self.orphans.setdefault(paper.title_key, slot)


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _values(record: ParsedPaper, key: str) -> dict:
    github = record.github_url if len(record.github_url or "") <= 500 else ""
    return {
        "title": record.title or "",
        "abstract": record.abstract or "",
        "authors": list(record.authors),
        "comments": (record.comments or "")[:500],
        "categories": list(record.categories),
        "published_on": record.published_on,
        "github_url": github or "",
        "upvotes": record.upvotes,
        "github_stars": record.github_stars,
        "ai_summary": record.ai_summary or "",
        "ai_keywords": list(record.ai_keywords),
        "title_key": key,
    }


def _fill(slot: _Slot, values: dict) -> bool:
    """Fill what the paper lacks; keep the highest counts. True if anything changed."""
    paper, changed = slot.paper, False
    for name in _FILL_FIELDS:
        new = values[name]
        if new and not getattr(paper, name):
            setattr(paper, name, new)
            slot.changed.add(name)
            changed = True
    if paper.title and not paper.title_key:
        known = values.get("title_key") if values.get("title") == paper.title else ""
        paper.title_key = known or make_title_key(paper.title)
        slot.changed.add("title_key")
    for name in _COUNT_FIELDS:
        new, old = values[name], getattr(paper, name)
        if new is not None and (old is None or new > old):
            setattr(paper, name, new)
            slot.changed.add(name)
            changed = True
    return changed


def _merge(plan: _Plan, loser: _Slot, winner: _Slot) -> None:
    """The title-only `loser` is the same paper as `winner`: fold it in."""
    old = loser.paper
    _fill(winner, {name: getattr(old, name) for name in _FILL_FIELDS + _COUNT_FIELDS})
    new = winner.paper
    for flag in ("is_featured", "is_hidden"):
        if getattr(old, flag) and not getattr(new, flag):
            setattr(new, flag, True)
            winner.changed.add(flag)
    if old.editor_note and not new.editor_note:
        new.editor_note = old.editor_note
        winner.changed.add("editor_note")
    loser.merged_into = winner
    winner.losers.append(loser)
    plan.orphans.pop(old.title_key, None)


# Columns the import never compares: not loaded (saves a conversion per row).
_UNUSED_COLUMNS = ("created_at", "updated_at", "editor_note")


def _load(plan: _Plan, *, ids: list[str], orphan_keys: list[str], title_only_keys: list[str]) -> None:
    """Load the papers the records may be: by id, title-only ones by title, and id ones for title-only records."""
    queries = [
        (ids, lambda chunk: Paper.objects.filter(arxiv_id__in=chunk)),
        (orphan_keys, lambda chunk: Paper.objects.filter(title_key__in=chunk, arxiv_id__isnull=True)),
        (title_only_keys, lambda chunk: Paper.objects.filter(title_key__in=chunk, arxiv_id__isnull=False)),
    ]
    seen: set[int] = set()
    for values, query in queries:
        for chunk in _chunks(values):
            for paper in query(chunk).defer(*_UNUSED_COLUMNS).order_by("pk"):
                if paper.pk not in seen:
                    seen.add(paper.pk)
                    plan.add(paper, is_new=False)


def _resolve(plan: _Plan, arxiv_id: str | None, key: str, values: dict) -> tuple[_Slot, bool, bool]:
    """(slot, is first sight of a new paper, changed) for one record."""
    if arxiv_id:
        slot = plan.by_id.get(arxiv_id)
        first = changed = False
        if slot is None:
            orphan = plan.orphans.pop(key, None) if key else None
            if orphan is not None:
                # The title-only paper learns its arXiv id.
                orphan.paper.arxiv_id = arxiv_id
                orphan.changed.add("arxiv_id")
                slot, changed = orphan, True
            else:
                slot = plan.add(Paper(arxiv_id=arxiv_id), is_new=True)
                first = True
            plan.by_id[arxiv_id] = slot
        changed = _fill(slot, values) or changed
        own_key = slot.paper.title_key
        if own_key:
            orphan = plan.orphans.get(own_key)
            if orphan is not None and orphan is not slot:
                _merge(plan, orphan, slot)
                changed = True
            plan.by_key.setdefault(own_key, slot)
        return slot, first, changed
    slot = plan.by_key.get(key) or plan.orphans.get(key)
    if slot is None:
        slot = plan.add(Paper(arxiv_id=None, title_key=key), is_new=True)
        _fill(slot, values)
        return slot, True, True
    return slot, False, _fill(slot, values)


def _load_listings(plan: _Plan, outcomes: list[_Outcome], source: str) -> None:
    days = sorted({o.day for o in outcomes if o.day is not None and not o.skipped})
    by_pk = {slot.paper.pk: slot for slot in plan.slots if not slot.is_new}
    if days:
        pks = sorted({o.slot.final().paper.pk for o in outcomes
                      if o.day and not o.skipped and not o.slot.final().is_new})
        for chunk in _chunks(pks):
            listings = Listing.objects.filter(paper_id__in=chunk, listed_on__in=days, source=source).defer("created_at")
            for listing in listings:
                by_pk[listing.paper_id].listings[(listing.listed_on, listing.source)] = listing
    merging = sorted({s.paper.pk for s in plan.slots if not s.is_new and (s.losers or s.merged_into)})
    for chunk in _chunks(merging):
        for listing in Listing.objects.filter(paper_id__in=chunk):
            by_pk[listing.paper_id].listings[(listing.listed_on, listing.source)] = listing


def paper_import(*, records: Iterable[ParsedPaper], source: str, listed_on: dt.date | None) -> ImportCounts:
    """Upsert papers and their listings from parsed records, in bulk.

    Guarantees: one Paper per identity (arXiv id, else normalized title);
    existing values are never overwritten, only filled in; one Listing per
    (paper, date, source) for records with a date (`record.listed_on`, else
    `listed_on`); re-running with the same records changes nothing and counts
    them all "unchanged". A record seen twice for the same date is "skipped".
    The search index (papers.search_index) is kept in step for every paper written.
    A few queries per 500 records. Call inside a transaction to make it atomic.
    """
    if source not in Listing.Source.values:
        raise ValueError(f"unknown source {source!r}")
    prepared = []
    for record in records:
        arxiv_id = normalize_arxiv_id(record.arxiv_id)
        arxiv_id = arxiv_id if arxiv_id and len(arxiv_id) <= 32 else None
        prepared.append((record, arxiv_id, make_title_key(record.title)))
    plan = _Plan()
    _load(
        plan,
        ids=sorted({a for _, a, _ in prepared if a}),
        orphan_keys=sorted({k for _, _, k in prepared if k}),
        title_only_keys=sorted({k for _, a, k in prepared if k and not a}),
    )

    outcomes: list[_Outcome] = []
    seen: set[tuple[int, dt.date | None]] = set()
    for index, (record, arxiv_id, key) in enumerate(prepared):
        if not arxiv_id and not key:
            outcomes.append(_Outcome(slot=None, skipped=True))
            continue
        day = record.listed_on or listed_on
        slot, first, changed = _resolve(plan, arxiv_id, key, _values(record, key))
        appearance = (id(slot.final()), day)
        outcome = _Outcome(slot=slot, day=day, rank=record.rank or index + 1, upvotes=record.upvotes or 0,
                           first=first, changed=changed, skipped=appearance in seen)
        seen.add(appearance)
        outcomes.append(outcome)

    _load_listings(plan, outcomes, source)
    now = timezone.now()
    doomed_listings: list[Listing] = []
    moved_listings: list[Listing] = []
    for slot in plan.slots:
        for loser in slot.losers:
            for key, listing in loser.listings.items():
                if key in slot.listings:
                    doomed_listings.append(listing)
                else:
                    listing.paper = slot.paper
                    moved_listings.append(listing)
                    slot.listings[key] = listing

    new_listings: dict[tuple[int, dt.date], Listing] = {}
    changed_listings: dict[int, Listing] = {}
    counts = ImportCounts()
    for outcome in outcomes:
        if outcome.skipped:
            counts.skipped += 1
            continue
        slot = outcome.slot.final()
        if outcome.day is not None:
            listing = slot.listings.get((outcome.day, source))
            if listing is None:
                listing = Listing(paper=slot.paper, listed_on=outcome.day, source=source,
                                  rank=outcome.rank, upvotes=min(outcome.upvotes, 2_147_483_647))
                slot.listings[(outcome.day, source)] = listing
                new_listings[(id(slot), outcome.day)] = listing
                outcome.changed = True
            elif listing.pk and (listing.rank != outcome.rank or listing.upvotes != outcome.upvotes):
                listing.rank, listing.upvotes = outcome.rank, outcome.upvotes
                changed_listings[listing.pk] = listing
                outcome.changed = True
        if outcome.first and outcome.slot is slot:
            counts.created += 1
        elif outcome.changed or outcome.slot is not slot:
            counts.updated += 1
        else:
            counts.unchanged += 1

    _write(plan, now, doomed_listings, moved_listings, list(new_listings.values()), list(changed_listings.values()))
    # Search finds new and changed papers, and ranks by listings: re-index exactly those.
    touched = {s.paper.pk for s in plan.slots if s.merged_into is None and (s.is_new or s.changed or s.losers)}
    listed = [*new_listings.values(), *changed_listings.values(), *moved_listings]
    touched.update(listing.paper.pk for listing in listed)
    search_index_update(paper_ids=touched)
    return counts


def _write(plan: _Plan, now, doomed: list[Listing], moved: list[Listing], new_listings: list[Listing],
           changed_listings: list[Listing]) -> None:
    survivors = [s for s in plan.slots if s.merged_into is None]
    to_update = [s for s in survivors if not s.is_new and s.changed]
    fields = sorted({name for s in to_update for name in s.changed} | {"updated_at"})
    for slot in to_update:
        slot.paper.updated_at = now
    Paper.objects.bulk_update([s.paper for s in to_update], fields, batch_size=_CHUNK)
    created = [s.paper for s in survivors if s.is_new]
    # Both supported backends (PostgreSQL, SQLite >= 3.35) return the new pks.
    Paper.objects.bulk_create(created, batch_size=_CHUNK)
    for chunk in _chunks([listing.pk for listing in doomed]):
        Listing.objects.filter(pk__in=chunk).delete()
    for listing in moved:
        listing.paper_id = listing.paper.pk
    Listing.objects.bulk_update(moved, ["paper"], batch_size=_CHUNK)
    losers = [s.paper.pk for s in plan.slots if s.merged_into is not None and not s.is_new]
    for chunk in _chunks(losers):
        Paper.objects.filter(pk__in=chunk).delete()
    Listing.objects.bulk_create(new_listings, batch_size=_CHUNK)
    Listing.objects.bulk_update(changed_listings, ["rank", "upvotes"], batch_size=_CHUNK)
    # The corpus's acronyms follow its text: new papers, and papers whose text was filled in.
    acronyms_record(papers=created + [s.paper for s in to_update if {"title", "abstract"} & set(s.changed)])


# --- one file -------------------------------------------------------------------------


def _check_text(text: str) -> None:
    if len(text) > MAX_IMPORT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_IMPORT_BYTES:
        raise ParseError(1, f"file is larger than the import limit of {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it")
    if not text.strip("\ufeff \t\r\n"):
        raise ParseError(1, "empty file: nothing to import")
    nul = text.find("\x00")
    if nul != -1:
        raise ParseError(text.count("\n", 0, nul) + 1, "binary data (a NUL byte), not a text file")
    controls = _CONTROL_CHARS.findall(text[:65536])
    if len(controls) > max(8, len(text[:65536]) // 100):
        first = _CONTROL_CHARS.search(text)
        raise ParseError(text.count("\n", 0, first.start()) + 1, "binary data (control characters), not a text file")


def _parse_file(*, text: str, fmt: str, listed_on: dt.date | None) -> tuple[list[ParsedPaper], str, dt.date | None]:
    _check_text(text)
    if fmt == "auto":
        fmt = detect_format(text)
    elif fmt not in FORMATS:
        raise ParseError(1, f"unknown format {fmt!r}; choose from auto, {', '.join(FORMATS)}")
    day = page_date(text, fmt, today=timezone.localdate()) or listed_on
    records = list(get_parser(fmt)(text))
    if not records and fmt in _FORMATS_THAT_MUST_HAVE_PAPERS:
        raise ParseError(1, f"no papers found in this {fmt} file")
    return records, fmt, day


def papers_import_text(
    *, text: str, name: str, format: str = "auto", listed_on: dt.date | None = None
) -> FileImportResult:
    """Import one file's text: all of it or, on any problem, nothing.

    Guarantees: parses the whole file before writing anything, then writes in
    one transaction; bad input never raises but comes back as `error`
    ("name:line: message") with nothing written. A page's own date wins
    ("Mar 11" = the latest Mar 11 not in the future); `listed_on` dates the
    listings of a page that carries none. Idempotent: importing the same text again
    counts every paper "unchanged".
    """
    result = FileImportResult(name=name, format=format, listed_on=listed_on)
    try:
        records, fmt, day = _parse_file(text=text, fmt=format, listed_on=listed_on)
    except ParseError as exc:
        result.error = f"{name}:{exc.line}: {exc.message}"
        return result
    result.format = fmt
    result.listed_on = day or max((r.listed_on for r in records if r.listed_on), default=None)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                counts = paper_import(records=records, source=fmt, listed_on=day)
            break
        except IntegrityError:
            # A concurrent import inserted one of these papers between our read
            # and our write; the unique constraints stopped a duplicate. Read again.
            if attempt == 2:
                raise
            logger.info("import of %s raced another import; retrying once", name)
    result.created, result.updated = counts.created, counts.updated
    result.unchanged, result.skipped = counts.unchanged, counts.skipped
    return result


def papers_flags_set(
    *, paper_ids: Iterable[int], is_featured: bool | None = None, is_hidden: bool | None = None
) -> int:
    """Feature/unfeature or hide/unhide papers in one UPDATE; returns how many rows it touched.

    Idempotent: setting a flag a paper already has changes nothing but updated_at. The
    search index follows (a hidden paper leaves it; featuring moves its trending rank), in
    the same transaction.
    """
    flags = {name: value for name, value in (("is_featured", is_featured), ("is_hidden", is_hidden))
             if value is not None}
    if not flags:
        raise ValueError("papers_flags_set needs is_featured or is_hidden")
    ids = list(paper_ids)
    with transaction.atomic():
        changed = Paper.objects.filter(id__in=ids).update(**flags, updated_at=timezone.now())
        search_index_update(paper_ids=ids)
    return changed
