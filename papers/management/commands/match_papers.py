"""Print the papers a keyword matches, as site search and the digests see them.

    python manage.py match_papers "KEYWORD" [--json] [--limit N]

Hidden papers are left out. Exits non-zero, naming the problem, on an empty,
junk or too-long keyword.
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from papers.search import KeywordError, normalize_keyword
from papers.search_results import papers_matching


class Command(BaseCommand):
    help = "Print the papers a keyword matches (best match first)."

    def add_arguments(self, parser):
        parser.add_argument("keyword", help='a word, a phrase ("graph neural network") or an acronym (BERT)')
        parser.add_argument("--json", action="store_true",
                            help="print a JSON list of {id, arxiv_id, title, score, terms, via}")
        parser.add_argument("--limit", type=int, default=0, help="print at most N papers (default: all)")

    def handle(self, *args, keyword: str, json: bool, limit: int, **options):
        try:
            papers = papers_matching(keyword)
        except KeywordError as exc:
            shown = keyword if len(keyword) <= 40 else keyword[:40] + "…"
            raise CommandError(f"match_papers: {exc} (got {shown!r})") from None
        total = len(papers)
        if limit > 0:
            papers = papers[:limit]
        if json:
            self.stdout.write(_dumps(papers))
            return
        for paper in papers:
            ident = paper.arxiv_id or f"#{paper.id}"
            self.stdout.write(f"{paper.keyword_match.score:5.1f}  {ident:<12}  {paper.title or '(no title)'}")
        shown = f", showing {len(papers)}" if len(papers) < total else ""
        self.stdout.write(f"{total} papers match {normalize_keyword(keyword)!r}{shown}.")


def _dumps(papers) -> str:
    rows = [
        {
            "id": p.id,
            "arxiv_id": p.arxiv_id,
            "title": p.title,
            "score": p.keyword_match.score,
            "terms": list(p.keyword_match.terms),
            # What found it: "" is the keyword as typed, else an expansion ("convolutional neural network").
            "via": list(p.keyword_match.via),
        }
        for p in papers
    ]
    return json.dumps(rows, ensure_ascii=False, indent=1)
