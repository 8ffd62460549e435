"""`manage.py search_index_rebuild`: rebuild the search index from the papers table.

Imports and curation keep the index current; run this after an upgrade that changes how
papers are keyed (the release notes say so), or after restoring papers without their index.
Searches keep working while it runs. Prints what it did.
"""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from papers.search_index import search_index_rebuild


class Command(BaseCommand):
    help = "Rebuild the search index (papers.search_index) from every paper."

    def handle(self, *args, **options):
        started = time.perf_counter()
        shown = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - shown[0] > 5 or done == total:
                shown[0] = now
                self.stdout.write(f"  {done:,}/{total:,} papers")

        written = search_index_rebuild(progress=progress)
        seconds = time.perf_counter() - started
        self.stdout.write(f"Indexed {written:,} visible papers in {seconds:.1f} s.")
