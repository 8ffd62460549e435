"""What else a keyword matches: the concept glossary and the corpus's acronyms.

A keyword that names a concept of papers/data/concepts.toml (by its name, an acronym or a
spelling) also matches the concept's other names, its narrower terms and model families
and the benchmarks that imply it; an acronym the corpus defines ("long form (SHORT)",
papers.acronyms) matches its long forms and the reverse. Each of these is an
`Alternative` a subscriber can switch off by its `key`. The rules are in docs/matching.md.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from papers.acronyms import AcronymTable, long_form_key
from papers.search_keys import CASED, Query, parse_keyword

GLOSSARY_PATH = Path(__file__).resolve().parent / "data" / "concepts.toml"
_LISTS = ("acronyms", "spellings", "narrower", "benchmarks", "exclude")


class GlossaryError(ValueError):
    """The glossary file is malformed; the message names the concept and the field."""


@dataclass(frozen=True)
class Concept:
    name: str
    acronyms: tuple[str, ...] = ()
    spellings: tuple[str, ...] = ()
    narrower: tuple[str, ...] = ()  # narrower terms, methods, model families
    benchmarks: tuple[str, ...] = ()  # benchmark names that imply the concept
    exclude: tuple[str, ...] = ()  # phrases in which a hit is another sense ("CNN/DailyMail")

    @property
    def aliases(self) -> tuple[str, ...]:
        """What names the concept itself (not a narrower term)."""
        return (self.name, *self.acronyms, *self.spellings)


@dataclass(frozen=True)
class Glossary:
    concepts: tuple[Concept, ...]
    by_alias: dict[str, Concept]  # alias key -> concept

    def concept(self, keyword: str) -> Concept | None:
        return self.by_alias.get(alias_key(keyword))


# How a keyword finds its concept: the stems of its words, case kept for acronyms. The very
# key the acronym table files long forms under, so a concept and a corpus acronym meet.
alias_key = long_form_key


def glossary_parse(text: str, *, source: str = "concepts.toml") -> Glossary:
    """The glossary from TOML text; GlossaryError names the first problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GlossaryError(f"{source}: {exc}") from None
    unknown = set(data) - {"concept"}
    if unknown:
        raise GlossaryError(f"{source}: unknown top-level key(s) {sorted(unknown)}; only [[concept]] tables")
    concepts = []
    by_alias: dict[str, Concept] = {}
    for number, raw in enumerate(data.get("concept", []), 1):
        where = f"{source}: concept #{number} ({raw.get('name', '?')!r})"
        extra = set(raw) - {"name", *_LISTS}
        if extra:
            raise GlossaryError(f"{where}: unknown field(s) {sorted(extra)}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GlossaryError(f"{where}: `name` must be a non-empty string")
        values = {}
        for list_name in _LISTS:
            items = raw.get(list_name, [])
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                raise GlossaryError(f"{where}: `{list_name}` must be a list of non-empty strings")
            values[list_name] = tuple(items)
        concept = Concept(name=name, **values)
        for term in (*concept.aliases, *concept.narrower, *concept.benchmarks, *concept.exclude):
            if not parse_keyword(term)[1]:
                raise GlossaryError(f"{where}: {term!r} has nothing a paper could match")
        for alias in concept.aliases:
            key = alias_key(alias)
            other = by_alias.get(key)
            if other is not None and other is not concept:
                raise GlossaryError(f"{where}: {alias!r} already names {other.name!r}")
            by_alias[key] = concept
        concepts.append(concept)
    # Acronyms typed in lowercase ("peft", "lora") find their concept too, unless that
    # spelling is another concept's word.
    for concept in concepts:
        for acronym in concept.acronyms:
            by_alias.setdefault(alias_key(acronym.lower()), concept)
    return Glossary(concepts=tuple(concepts), by_alias=by_alias)


@cache
def glossary() -> Glossary:
    return glossary_parse(GLOSSARY_PATH.read_text(encoding="utf-8"), source=str(GLOSSARY_PATH))


# --- a keyword's expansion ---------------------------------------------------------------


@dataclass(frozen=True)
class Alternative:
    label: str  # as shown to the subscriber: "convolutional neural network"
    key: str  # what a switch stores (alias_key of the label)
    kind: str  # "acronym", "spelling", "narrower", "benchmark"
    query: Query
    # For a bare acronym: the long-form keys that mean this alternative's sense ("segment
    # anything model" for SAM). A paper that defines the acronym otherwise does not count.
    senses: frozenset[str] = frozenset()
    # A short acronym (2-3 letters) reached from a long-form keyword counts only where the
    # paper defines it with one of `senses`, unless the corpus gives it no other sense:
    # "k-NN" is not "neural network", "RGB and IR images" is not information retrieval.
    strict: bool = False


@dataclass(frozen=True)
class Expansion:
    query: Query  # the keyword itself
    concept: str | None
    alternatives: tuple[Alternative, ...]
    excludes: tuple[Query, ...] = ()
    # Acronyms (cased keys) whose bare hits count only where the paper does not define
    # them as something else; and the long-form keys that count as "the same thing".
    acronyms: frozenset[str] = field(default_factory=frozenset)
    long_forms: frozenset[str] = field(default_factory=frozenset)

    def enabled(self, disabled: frozenset[str]) -> tuple[Alternative, ...]:
        if not disabled:
            return self.alternatives
        return tuple(a for a in self.alternatives if a.key not in disabled)


def acronym_key(query: Query) -> str | None:
    """The cased key of a keyword that is one acronym ("CNN", "LoRA"), else None."""
    units, plain = query[1], query[2]
    if len(units) == 1 and not plain[0]:
        return units[0][0]
    return None


def keyword_expansion(query: Query, acronyms: AcronymTable) -> Expansion:
    """The compiled keyword's alternatives (glossary first, then the corpus's acronyms), each once.

    Cached per normalized keyword and acronym-table version: a digest run expands each
    distinct keyword once, and most keywords (no concept, no corpus acronym) cost two
    dictionary lookups.
    """
    normalized = query[0]
    expansion = _expansions.get((normalized, acronyms.version))
    if expansion is None:
        own = " ".join([unit[0] for unit in query[1]])
        short = acronym_key(query)
        if own not in glossary().by_alias and (
            own not in acronyms.shorts if short is None else short[len(CASED) :] not in acronyms.long_forms
        ):
            expansion = Expansion(query=query, concept=None, alternatives=())
        else:
            expansion = _expansion(normalized, acronyms)
        if len(_expansions) > 200_000:
            _expansions.clear()
        _expansions[(normalized, acronyms.version)] = expansion
    return expansion


SHORT_ACRONYM = 3  # letters; "NN", "IR", "VC", "ST", "DP", "TTA" have many senses


def _senses(concept: Concept) -> frozenset[str]:
    """The long-form keys of a concept: its name and spellings that are not acronyms."""
    return frozenset(alias_key(a) for a in (concept.name, *concept.aliases) if acronym_key(parse_keyword(a)) is None)


@cache
def _terms(text: str) -> tuple[str, Query]:
    return alias_key(text), parse_keyword(text)


def _expansion(normalized: str, acronyms: AcronymTable) -> Expansion:
    query = parse_keyword(normalized)
    own = alias_key(normalized)
    seen = {own}
    alternatives: list[Alternative] = []
    short_forms: set[str] = set()
    long_forms: set[str] = set()

    typed_acronym = acronym_key(query) is not None

    def add(text: str, kind: str, senses: frozenset[str] = frozenset()) -> None:
        key, alt_query = _terms(text)
        if key in seen or not alt_query[1]:
            return
        seen.add(key)
        strict = False
        if (short := acronym_key(alt_query)) is not None:
            short_forms.add(short)
            if not typed_acronym and len(short) - len(CASED) <= SHORT_ACRONYM:
                corpus = {form.key for form in acronyms.long_forms.get(short[len(CASED) :], ())}
                strict = not corpus or not corpus <= senses
        elif kind != "narrower":
            long_forms.add(key)
        alternatives.append(Alternative(text, key, kind, alt_query, senses, strict))

    concept = glossary().concept(normalized)
    excludes: tuple[Query, ...] = ()
    names = [normalized]
    if concept is not None:
        long_forms.update(alias_key(a) for a in concept.aliases)
        concept_senses = _senses(concept)
        for alias in concept.aliases:
            add(alias, "acronym" if acronym_key(parse_keyword(alias)) else "spelling", concept_senses)
        for term in concept.narrower:
            narrower = glossary().concept(term)
            # A narrower concept's names come along when the term names it, not when the
            # term is only one of its spellings ("test-time prompt tuning" is not all of TTA).
            names_it = narrower is not None and narrower is not concept and term in (narrower.name, *narrower.acronyms)
            add(term, "narrower", _senses(narrower) if names_it else frozenset())
            if names_it:
                for alias in narrower.aliases:
                    add(alias, "narrower", _senses(narrower))
        for term in concept.benchmarks:
            add(term, "benchmark")
        excludes = tuple(parse_keyword(e) for e in concept.exclude)
        names += [a for a in concept.aliases]
    # The corpus's own definitions, both ways, for the keyword and the concept's names. A
    # concept's acronym keeps the glossary's sense: the corpus's other long forms of it
    # ("positron emission tomography" for PET) are other concepts, not expansions.
    for name in names:
        name_query = parse_keyword(name)
        short = acronym_key(name_query)
        if short is not None and concept is None:
            for form in acronyms.long_forms.get(short[1:], ()):
                long_forms.add(form.key)
                add(form.text.lower(), "acronym")
        elif short is None:
            for found in acronyms.shorts.get(alias_key(name), ()):
                add(found, "acronym", frozenset({alias_key(name)}) | (_senses(concept) if concept else frozenset()))
    own_short = acronym_key(query)
    if own_short is not None:
        short_forms.add(own_short)
    expansion = Expansion(
        query=query,
        concept=concept.name if concept is not None else None,
        alternatives=tuple(alternatives),
        excludes=excludes,
        acronyms=frozenset(short_forms),
        long_forms=frozenset(long_forms - {own}),
    )
    return expansion


_expansions: dict[tuple[str, tuple], Expansion] = {}


def clear_expansions() -> None:
    """Forget the cached expansions (the benchmark's cold start)."""
    _expansions.clear()
