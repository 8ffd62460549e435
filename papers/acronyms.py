"""Acronyms the corpus defines: "long form (SHORT)", mined from every stored abstract.

Mining is Schwartz & Hearst (2003), "A simple algorithm for identifying abbreviation
definitions in biomedical text": a parenthesized SHORT of 2-10 characters, and before it
the shortest run of at most min(|SHORT| + 5, 2|SHORT|) words in which SHORT's letters
occur in order, the first one starting a word. Written here (~40 lines) rather than taken
from the `abbreviations` package (0.2.5, unmaintained since 2019): that package calls
logging.basicConfig() at import, raises on unbalanced parentheses, and needs `regex`.

Each definition is stored per paper (`AcronymDefinition`), so an acronym with several long
forms keeps them apart by evidence: how many papers define each, and which one a given
paper defines. The import service records them (`acronyms_record`) in the same
transaction as the papers; the matcher reads them through `acronym_table()`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Min

from papers.models import AcronymDefinition, Paper
from papers.search_keys import parse_keyword

_PARENTHESIZED = re.compile(r"\s\(\s*([^()\s;:,][^();:,]{0,11}?)\s*\)")
_WORD = re.compile(r"\S+")


def _is_short_form(text: str) -> bool:
    return (
        2 <= len(text) <= 10
        and len(text.split()) <= 2
        and text[0].isalnum()
        and any(c.isupper() for c in text)
        and any(c.isalpha() for c in text)
    )


def _long_form(short: str, before: str) -> str | None:
    """The shortest tail of `before` that holds SHORT's letters in order (Schwartz-Hearst)."""
    s, i = len(short) - 1, len(before) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # The first letter must start a word (after a space: "self-supervised", not
        # "supervised", for SSL); the others may be anywhere.
        while i >= 0 and (before[i].lower() != c or (s == 0 and i > 0 and not before[i - 1].isspace())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    long_form = before[i + 1 :].strip(" -")
    if "(" in long_form or ")" in long_form or len(long_form) <= len(short) or (
        " " not in long_form and "-" not in long_form and long_form[1:].islower()  # one word: only CamelCase
    ):
        return None
    return long_form


def find_definitions(text: str) -> list[tuple[str, str]]:
    """(SHORT, long form as written) for each "long form (SHORT)" in the text."""
    found = []
    if "(" not in text:
        return found
    for m in _PARENTHESIZED.finditer(text):
        short = m.group(1)
        if not _is_short_form(short):
            continue
        window = min(len(short) + 5, 2 * len(short))
        words = _WORD.findall(text[max(0, m.start() - 300) : m.start()])[-window:]
        if words:
            long_form = _long_form(short, " ".join(words))
            if long_form:
                found.append((short.rstrip("s") if short.endswith("s") and short[:-1].isupper() else short, long_form))
    return found


def long_form_key(long_form: str) -> str:
    """Word forms and spelling do not count: the stems of the long form's words."""
    return " ".join(unit[0] for unit in parse_keyword(long_form)[1])


def paper_definitions(title: str, abstract: str) -> list[tuple[str, str, str]]:
    """(SHORT, long form as written, long_form_key) a paper defines, each pair once."""
    found = {}
    for short, long_form in find_definitions(f"{title}. {abstract}"):
        key = long_form_key(long_form)
        if key:
            found.setdefault((short[:16], key[:200]), long_form[:200])
    return [(short, long_form, key) for (short, key), long_form in found.items()]


# --- the stored table --------------------------------------------------------------------


def acronyms_record(*, papers: Iterable[Paper]) -> int:
    """Replace the stored definitions of these papers with those mined from their text.

    Guarantees: afterwards each given paper has exactly the definitions its title and
    abstract contain (one row per short form and long form); two queries per call plus
    one per 500 definitions. Call inside the import's transaction to keep them in step.
    """
    rows = []
    ids = []
    for paper in papers:
        ids.append(paper.pk)
        for short, long_form, key in paper_definitions(paper.title, paper.abstract):
            rows.append(AcronymDefinition(paper_id=paper.pk, short=short, long_form=long_form, long_key=key))
    if ids:
        AcronymDefinition.objects.filter(paper_id__in=ids).delete()
        AcronymDefinition.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@dataclass(frozen=True)
class LongForm:
    key: str  # long_form_key
    text: str  # as some paper writes it
    papers: int  # how many papers define the acronym this way


@dataclass(frozen=True)
class AcronymTable:
    """The corpus's acronyms, both ways, most-attested long form first."""

    version: tuple
    long_forms: dict[str, tuple[LongForm, ...]]  # SHORT -> its long forms
    shorts: dict[str, tuple[str, ...]]  # long_form_key -> SHORTs it is the commonest long form of


EMPTY_TABLE = AcronymTable(version=(), long_forms={}, shorts={})
_loaded: list[AcronymTable] = [EMPTY_TABLE]


def acronym_table() -> AcronymTable:
    """The stored acronym table; reloaded only when the stored rows changed (one cheap query)."""
    state = AcronymDefinition.objects.aggregate(n=Count("id"), last=Max("id"))
    version = (state["n"], state["last"])
    table = _loaded[0]
    if table.version == version:
        return table
    long_forms: dict[str, list[LongForm]] = {}
    rows = (
        AcronymDefinition.objects.filter(paper__is_hidden=False)
        .values("short", "long_key")
        .annotate(papers=Count("paper_id", distinct=True), text=Min("long_form"))
    )
    for row in rows:
        long_forms.setdefault(row["short"], []).append(LongForm(row["long_key"], row["text"], row["papers"]))
    shorts: dict[str, list[str]] = {}
    for short, forms in long_forms.items():
        forms.sort(key=lambda f: (-f.papers, f.key))
        top = forms[0].papers
        for form in forms:
            if form.papers * 2 >= top:  # as attested as the commonest: the acronym may stand for it
                shorts.setdefault(form.key, []).append(short)
    table = AcronymTable(
        version=version,
        long_forms={s: tuple(f) for s, f in long_forms.items()},
        shorts={k: tuple(v) for k, v in shorts.items()},
    )
    _loaded[0] = table
    return table
