"""Do votes make digests better? Simulated readers vote for five days; precision at 5 on day six.

    python manage.py evaluate_feedback ../shared/eval/judged_dev.json [--seeds 1,2,3] [--json]

Runs the real build in a transaction that is rolled back (digests.evaluation):
nothing stays in the database. Exits non-zero, naming the file, on a judged file
it cannot read, and when the votes do not beat the keyword-only ranking.
"""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from digests.evaluation import JudgedSetError, feedback_evaluate, judged_set_load


class Command(BaseCommand):
    help = "Simulated readers vote on their digests for 5 days; compares day-6 precision at 5 with keyword-only."

    def add_arguments(self, parser):
        parser.add_argument("judged", type=Path, help="a judged set: {papers: [...], labels: {keyword: [titles]}}")
        parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one run each (default 1,2,3)")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    def handle(self, *args, judged: Path, seeds: str, json: bool = False, **options):
        try:
            seed_list = tuple(int(s) for s in seeds.split(",") if s.strip())
        except ValueError:
            raise CommandError(f"--seeds must be whole numbers separated by commas, not {seeds!r}") from None
        try:
            papers, labels = judged_set_load(judged)
        except JudgedSetError as exc:
            raise CommandError(str(exc)) from None
        result = feedback_evaluate(papers=papers, labels=labels, seeds=seed_list or (1,))
        if not result.results:
            raise CommandError(f"{judged}: no keyword has enough judged papers to be a reader's interest")
        if json:
            self.stdout.write(_json_dumps(result))
        else:
            header = ("hidden interest", "seed", "votes", "P@5 with votes", "keyword-only")
            self.stdout.write("{:<22} {:>4} {:>5} {:>15} {:>13}".format(*header))
            for r in result.results:
                row = (r.topic, r.seed, r.votes, f"{r.with_votes:.2f}", f"{r.keyword_only:.2f}")
                self.stdout.write("{:<22} {:>4} {:>5} {:>15} {:>13}".format(*row))
            self.stdout.write(f"readers={len(result.results)} precision_at_5_with_votes={result.with_votes:.3f} "
                              f"keyword_only={result.keyword_only:.3f}")
        if result.with_votes <= result.keyword_only:
            raise CommandError("the votes did not beat the keyword-only ranking")


def _json_dumps(result) -> str:
    return json.dumps({
        "readers": [r.__dict__ for r in result.results],
        "precision_at_5_with_votes": round(result.with_votes, 4),
        "precision_at_5_keyword_only": round(result.keyword_only, 4),
    }, indent=2)
