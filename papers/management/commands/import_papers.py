"""`manage.py import_papers PATH... [--format ...] [--date YYYY-MM-DD]`

Each file is imported on its own and atomically: a bad file is reported with
its name and line and nothing from it is written, while the other files still
import. The command exits non-zero when any file failed.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.parsers import FORMATS
from papers.services import MAX_IMPORT_BYTES, FileImportResult, papers_import_text


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value!r} is not a date (use YYYY-MM-DD)") from None


# Read in pieces up to the limit, whatever size the file reports: /dev/zero,
# /dev/stdin and pipes report 0 bytes (or nothing) and never end.
_READ_CHUNK = 1024 * 1024


def read_text_file(path: Path) -> str:
    """The file's text, or ValueError("name:line: message") for a file we cannot import as text.

    Reads at most MAX_IMPORT_BYTES + 1 bytes: a longer file is refused whole, never read into memory.
    """
    name = path.name
    too_big = (f"{name}:1: file is larger than the import limit of {MAX_IMPORT_BYTES // (1024 * 1024)} MB; "
               "split it")
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise ValueError(
                f"{name}:1: file is {size / 1024 / 1024:.1f} MB, larger than the import limit of "
                f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it"
            )
        chunks, total = [], 0
        with path.open("rb") as stream:
            while total <= MAX_IMPORT_BYTES:
                chunk = stream.read(min(_READ_CHUNK, MAX_IMPORT_BYTES + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        if total > MAX_IMPORT_BYTES:
            raise ValueError(too_big)
        data = b"".join(chunks)
    except FileNotFoundError:
        raise ValueError(f"{name}:0: no such file ({path})") from None
    except IsADirectoryError:
        raise ValueError(f"{name}:0: is a directory, not a file") from None
    except OSError as exc:
        raise ValueError(f"{name}:0: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{name}:{line}: not UTF-8 text (binary data?) at byte {exc.start}") from None


class Command(BaseCommand):
    help = "Import papers from HF papers pages, arXiv listings, arXiv API Atom XML or HF daily_papers JSON."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files to import")
        parser.add_argument("--format", default="auto", choices=("auto",) + FORMATS,
                            help="input format (default: detect it from each file)")
        parser.add_argument("--date", type=str, default=None, metavar="YYYY-MM-DD",
                            help="listing date for files that carry none (a page's own date wins)")

    def handle(self, *args, **options):
        listed_on = _date(options["date"]) if options["date"] else None
        paths = [Path(p) for p in options["paths"]]
        interactive = self.stdout.isatty()
        # The bar goes to stderr so stdout stays the summary; it shows only on a terminal.
        bar_file = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(total=len(paths), unit="file", disable=not interactive, file=bar_file)
        totals = FileImportResult(name="total", format="", listed_on=None)
        failed = 0
        try:
            for path in paths:
                bar.set_description(path.name[:30])
                result = self._import(path, options["format"], listed_on)
                with tqdm.external_write_mode(file=bar_file, nolock=True):
                    if result.error:
                        failed += 1
                        self.stderr.write(f"error: {result.error} (nothing imported from this file)")
                    else:
                        self.stdout.write(self._line(result.name, result))
                for name in ("created", "updated", "unchanged", "skipped"):
                    setattr(totals, name, getattr(totals, name) + getattr(result, name))
                bar.update(1)
        finally:
            bar.close()
        self.stdout.write(self._line(f"total ({len(paths)} files, {failed} failed)", totals))
        if failed:
            raise CommandError(f"{failed} of {len(paths)} files could not be imported; see the errors above")

    def _import(self, path: Path, fmt: str, listed_on: dt.date | None) -> FileImportResult:
        try:
            text = read_text_file(path)
        except ValueError as exc:
            return FileImportResult(name=path.name, format=fmt, listed_on=listed_on, error=str(exc))
        return papers_import_text(text=text, name=path.name, format=fmt, listed_on=listed_on)

    @staticmethod
    def _line(label: str, result: FileImportResult) -> str:
        parts = [label + ":"]
        if result.format:
            parts.append(f"format={result.format}")
            parts.append(f"listed_on={result.listed_on.isoformat() if result.listed_on else '-'}")
        parts += [f"created={result.created}", f"updated={result.updated}",
                  f"unchanged={result.unchanged}", f"skipped={result.skipped}"]
        if result.format and not result.listed_on and (result.created or result.updated or result.unchanged):
            parts.append("(no listing date: papers saved but not listed; use --date)")
        return " ".join(parts)
