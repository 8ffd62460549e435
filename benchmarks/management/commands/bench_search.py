"""`manage.py bench_search --papers N`: how fast site search and the keyword preview are over N papers.

    python manage.py bench_search [--papers 10000] [--queries 200] [--keep] [--reuse] [--seed 7]

Generates N papers that read like ML abstracts (bench_match's vocabulary: acronyms,
hyphenated and closed spellings, LaTeX) plus a long tail of rare method and dataset
names drawn by Zipf's law, so queries range from a handful of hits to most of the
archive. Papers of the last 60 days get a listing (trending, the preview's window).
Written in bulk (COPY on PostgreSQL) into the configured database, with their search
index entries computed by papers.search_index (the import's own functions); on
PostgreSQL the GIN index is built once after the load, as a restore would.

Then, warm (every query run once first), it times ~200 queries through the search view
(/search/?q=..., rendering and highlighting included, rate limit off) and 40 keyword
previews of 5 keywords each through the preview view (its cache cleared each time).
The last line is exactly:
    bench: search papers=N p50_ms=… p95_ms=… preview_p95_ms=… index_mb=…

Bench papers have arXiv ids 9902.NNNNNNN and are deleted afterwards unless --keep;
--reuse keeps N bench papers already there instead of generating them again.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import statistics
import time
from itertools import accumulate

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone

from benchmarks.management.commands.bench_match import ACRONYMS, HEADS, MODIFIERS, TERMS, generate_papers
from papers import views
from papers.models import Listing, Paper, SearchEntry
from papers.search_index import paper_codes, trend_key
from subscriptions import views as subscription_views

_PREFIX = "9902."
_BATCH = 10_000
_LAST_DAY = dt.date(2026, 11, 30)
_DAYS = 1000  # papers are spread over this many days before _LAST_DAY
_LISTED_DAYS = 60
_REBUILD_GIN_FROM = 100_000
_SYLLABLES = "ka lo mi nu re ta vi so ze ra po li du fe gan mor tek vin sul dar quo ben pix yal".split()
_COLUMNS = ("arxiv_id", "title", "title_key", "abstract", "authors", "comments", "categories", "published_on",
            "upvotes", "github_url", "github_stars", "is_hidden", "is_featured", "editor_note", "created_at",
            "updated_at", "ai_summary", "ai_keywords")


def tail_vocabulary(size: int, rng: random.Random) -> list[str]:
    """`size` distinct invented words (method and dataset names): the rare end of a real vocabulary."""
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4)))] = None
    return list(words)


class Command(BaseCommand):
    help = "Measure site search and the keyword preview over N generated papers in the configured database."

    def add_arguments(self, parser):
        parser.add_argument("--papers", type=int, default=10_000)
        parser.add_argument("--queries", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="keep the generated papers afterwards")
        parser.add_argument("--reuse", action="store_true", help="reuse N bench papers left by a --keep run")

    def handle(self, *args, papers: int, queries: int, seed: int, keep: bool, reuse: bool, **options):
        if not 1 <= papers <= 9_999_999:
            raise CommandError("--papers must be between 1 and 9999999")
        if queries < 10:
            raise CommandError("--queries must be at least 10")
        rng = random.Random(seed)
        tail = tail_vocabulary(max(1000, papers // 10), rng)
        existing = Paper.objects.filter(arxiv_id__startswith=_PREFIX).count()
        try:
            if not (reuse and existing == papers):
                self._delete()
                started = time.perf_counter()
                self._generate(papers, tail, rng)
                seconds = time.perf_counter() - started
                self.stdout.write(f"generated {papers:,} papers with their index in {seconds:.0f} s")
            self._measure(papers, tail, queries, rng)
        finally:
            if not keep:
                self._delete()

    # --- the archive ------------------------------------------------------------------------

    def _generate(self, count: int, tail: list[str], rng: random.Random) -> None:
        weights = list(accumulate(1 / rank for rank in range(1, len(tail) + 1)))  # Zipf's law
        postgres = connection.vendor == "postgresql"
        # A big load builds the GIN index once at the end, as a restore would; a small one
        # keeps it (and the searches of anything else in this database working).
        rebuild_gin = postgres and count >= _REBUILD_GIN_FROM
        if rebuild_gin:
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX IF EXISTS searchentry_codes")
        # Keys for a big archive on both cores (fork: the workers share the loaded code).
        pool = multiprocessing.get_context("fork").Pool(2) if count >= _REBUILD_GIN_FROM else None
        try:
            self._load(count, tail, rng, weights, postgres, pool)
        finally:
            if pool is not None:
                pool.close()
            with connection.cursor() as cursor:
                if rebuild_gin:
                    self.stdout.write("  building the GIN index")
                    cursor.execute("SET maintenance_work_mem = '1GB'")
                    cursor.execute(
                        "CREATE INDEX IF NOT EXISTS searchentry_codes ON papers_searchentry USING gin (codes)"
                    )
                # What autovacuum does after a load: statistics, and (PostgreSQL) the GIN
                # pending list merged into the index, which every search would scan otherwise.
                cursor.execute("VACUUM ANALYZE papers_searchentry" if postgres else "ANALYZE")

    def _load(self, count: int, tail: list[str], rng: random.Random, weights: list[float], postgres: bool,
              pool) -> None:
        now = timezone.now()
        for start in range(0, count, _BATCH):
            size = min(_BATCH, count - start)
            rows, listed = [], []
            for n, title, abstract in generate_papers(size, rng):
                number = start + n
                names = rng.choices(tail, cum_weights=weights, k=3)
                title = f"{title} with {names[0].capitalize()}" if rng.random() < 0.3 else title
                abstract += f" We evaluate on the {names[1]} and {names[2]} corpora."
                published = _LAST_DAY - dt.timedelta(days=int(_DAYS * (1 - (number / count) ** 0.5)))
                upvotes = int(rng.paretovariate(1.2)) - 1
                rows.append((f"{_PREFIX}{number:07d}", title, "", abstract, "[]", "", "[]", published, upvotes, "",
                             None, False, rng.random() < 0.001, "", now, now, "", "[]"))
                if (_LAST_DAY - published).days < _LISTED_DAYS:
                    listed.append((f"{_PREFIX}{number:07d}", published, rng.randint(1, 100), upvotes))
            with transaction.atomic():
                self._insert("papers_paper", _COLUMNS, rows)
                ids = dict(Paper.objects.filter(arxiv_id__in=[r[0] for r in rows]).values_list("arxiv_id", "id"))
                self._insert("papers_listing", ("paper_id", "listed_on", "source", "rank", "upvotes", "created_at"),
                             [(ids[a], day, Listing.Source.HF_JSON, rank, up, now) for a, day, rank, up in listed])
                on_list = {a: (day, rank) for a, day, rank, _ in listed}
                texts = [(row[1], row[3]) for row in rows]
                all_codes = pool.starmap(paper_codes, texts, chunksize=500) if pool else [
                    paper_codes(*text) for text in texts
                ]
                entries = []
                for row, codes in zip(rows, all_codes, strict=True):
                    day, rank = on_list.get(row[0], (None, None))
                    trend = trend_key(listings=1 if day else 0, best_rank=rank, upvotes=row[8], is_featured=row[12],
                                      seen_on=day or row[7])
                    entries.append((ids[row[0]], codes if postgres else SearchEntry._meta.get_field("codes")
                                    .get_db_prep_value(codes, connection), trend, day))
                self._insert("papers_searchentry", ("paper_id", "codes", "trend", "listed_on"), entries)
            self.stdout.write(f"  {start + size:,}/{count:,} papers")

    @staticmethod
    def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    @staticmethod
    def _delete() -> None:
        bench = "SELECT id FROM papers_paper WHERE arxiv_id LIKE %s"
        with transaction.atomic(), connection.cursor() as cursor:
            for table, column in (("papers_searchentry", "paper_id"), ("papers_listing", "paper_id"),
                                  ("papers_paper", "id")):
                cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({bench})", [_PREFIX + "%"])

    # --- the measurement --------------------------------------------------------------------

    def _queries(self, count: int, tail: list[str], rng: random.Random) -> list[str]:
        """Realistic search boxes: very common words and phrases, terms, acronyms, hyphenated
        and closed spellings, rare names (by their rank in the tail: a few hits to very many), none."""
        fixed = ["learning", "models", "the", "large language models", "state-of-the-art", "zero-shot",
                 "pre-trained", "benchmark", "LLMs", "fine tuning", "chain of thought", "pretraining"]
        pools = [
            [rng.choice(TERMS) for _ in range(count)],
            [f"{rng.choice(MODIFIERS)} {rng.choice(HEADS)}" for _ in range(count)],
            [f"{rng.choice(TERMS)} {rng.choice(HEADS)}".replace("-", " ") for _ in range(count)],
            [rng.choice(ACRONYMS) for _ in range(count)],
            [tail[min(len(tail) - 1, int(10 ** rng.uniform(0, 5)))] for _ in range(count)],
            [rng.choice(tail).capitalize() + " " + rng.choice(HEADS) for _ in range(count)],
            ["quantum chromodynamics", "zebrafish locomotion", "xylophone"] * count,
        ]
        out = list(fixed)
        while len(out) < count:
            for pool in pools:
                if len(out) < count:
                    out.append(pool[len(out) % len(pool)])
        return out

    def _measure(self, count: int, tail: list[str], number: int, rng: random.Random) -> None:
        queries = self._queries(number, tail, rng)
        previews = [", ".join(rng.sample(queries, 5)) for _ in range(40)]
        factory = RequestFactory()

        def search(q: str) -> None:
            response = views.search(factory.get("/search/", {"q": q}))
            assert response.status_code == 200, (q, response.status_code)

        def preview(keywords: str) -> None:
            cache.clear()  # the preview caches per keyword: measure the work, not the cache
            response = subscription_views.keyword_preview(factory.get("/subscribe/preview/", {"keywords": keywords}))
            assert response.status_code == 200, (keywords, response.status_code)

        with override_settings(RATELIMIT_ENABLE=False):
            for q in queries:  # warm: the database's and the OS's caches, our parse caches
                search(q)
            search_ms = self._timed(search, queries)
            for keywords in previews[:5]:
                preview(keywords)
            preview_ms = self._timed(preview, previews)
        slowest = sorted(zip(search_ms, queries, strict=True), reverse=True)[:5]
        self.stdout.write("slowest searches: " + "; ".join(f"{q!r} {ms:.0f} ms" for ms, q in slowest))
        self.stdout.write(
            f"bench: search papers={count} p50_ms={statistics.median(search_ms):.1f} "
            f"p95_ms={_p95(search_ms):.1f} preview_p95_ms={_p95(preview_ms):.1f} index_mb={self._index_mb():.0f}"
        )

    @staticmethod
    def _timed(run, items: list[str]) -> list[float]:
        out = []
        for item in items:
            started = time.perf_counter()
            run(item)
            out.append((time.perf_counter() - started) * 1000)
        return out

    @staticmethod
    def _index_mb() -> float:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_total_relation_size('papers_searchentry')")
                size = cursor.fetchone()[0]
            else:
                cursor.execute("SELECT coalesce(sum(length(codes)), 0) + 40 * count(*) FROM papers_searchentry")
                size = cursor.fetchone()[0]
                cursor.execute("SELECT coalesce(sum(length(block)), 0) FROM papers_searchentry_fts_data")
                size += cursor.fetchone()[0]
        return size / 1024 / 1024


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]

