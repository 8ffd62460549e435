"""`manage.py bench_import [--papers 10000]`: how fast the import path is.

Writes N synthetic papers as a daily_papers JSON file (the format the scheduled
fetch imports), imports it through `papers_import_text` into the configured
database (the same path as `import_papers`), then imports it again, which
must change nothing. The synthetic papers use arXiv ids of the form
9901.NNNNN, which no real paper has, and are deleted afterwards (--keep to
keep them).
"""
from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from papers.models import Paper
from papers.services import papers_import_text

_PREFIX = "9901."
_WORDS = (
    "pretraining retrieval diffusion speech graph neural network transformer language model vision "
    "contrastive autoregressive sparse expert token attention benchmark dataset scaling efficient "
    "multimodal alignment reasoning instruction tuning adapter distillation robust generalization"
).split()


def synthetic_daily_papers(count: int, *, seed: int = 7) -> list[dict]:
    """`count` daily_papers items with realistic sizes (titles ~10 words, abstracts ~1,300 characters)."""
    rng = random.Random(seed)
    items = []
    for n in range(count):
        title = " ".join(rng.choice(_WORDS) for _ in range(10)).capitalize() + f" ({n})"
        summary = ". ".join(" ".join(rng.choice(_WORDS) for _ in range(18)).capitalize() for _ in range(8)) + "."
        items.append({
            "paper": {
                "id": f"{_PREFIX}{n:05d}",
                "title": title,
                "summary": summary,
                "authors": [{"name": f"Author {rng.randrange(10_000)}"} for _ in range(5)],
                "publishedAt": "1999-01-01T12:00:00.000Z",
                "upvotes": rng.randrange(200),
                "githubRepo": f"https://github.com/bench/repo{n}" if n % 3 == 0 else None,
                "githubStars": rng.randrange(5000) if n % 3 == 0 else None,
            },
            "publishedAt": "1999-01-02T09:00:00.000Z",
            "title": title,
            "summary": summary,
            "numComments": 0,
        })
    return items


class Command(BaseCommand):
    help = "Measure importing N papers (and re-importing them unchanged) into the configured database."

    def add_arguments(self, parser):
        parser.add_argument("--papers", type=int, default=10_000)
        parser.add_argument("--keep", action="store_true", help="keep the synthetic papers afterwards")

    def handle(self, *args, papers: int, keep: bool, **options):
        if not 1 <= papers <= 99_999:
            raise CommandError("--papers must be between 1 and 99999")
        Paper.objects.filter(arxiv_id__startswith=_PREFIX).delete()  # leftovers of an interrupted run
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench_daily_papers.json"
            path.write_text(json.dumps(synthetic_daily_papers(papers)), encoding="utf-8")
            size_mb = path.stat().st_size / 1024 / 1024
            try:
                first = self._timed(path)
                if first[0].error or first[0].created != papers:
                    raise CommandError(f"bench import went wrong: {first[0]}")
                self._report("import", papers, first[1], f"file_mb={size_mb:.1f}")
                again = self._timed(path)
                if again[0].error or again[0].unchanged != papers:
                    raise CommandError(f"re-import changed something: {again[0]}")
                self._report("reimport_unchanged", papers, again[1], f"unchanged={again[0].unchanged}")
            finally:
                if not keep:
                    Paper.objects.filter(arxiv_id__startswith=_PREFIX).delete()

    @staticmethod
    def _timed(path: Path):
        started = time.perf_counter()
        result = papers_import_text(text=path.read_text(encoding="utf-8"), name=path.name)
        return result, time.perf_counter() - started

    def _report(self, what: str, papers: int, seconds: float, extra: str) -> None:
        self.stdout.write(f"bench: {what} papers={papers} seconds={seconds:.2f} "
                          f"papers_per_s={papers / seconds:.0f} {extra}")
