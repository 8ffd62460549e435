"""Keyword matching: the one place that decides whether a paper is about a keyword.

Shared by site search (papers.search_results, over candidates from papers.search_index)
and the daily digests (`PaperIndex`).
The rules a reader can rely on, the algorithm and its measured quality and speed
are in docs/matching.md. In short: text becomes positions of stemmed tokens (plus
the stems of adjacent word pairs, so "pre training" is also "pretraining"); a
keyword becomes one or more sequences of keys (papers/search_keys.py); a paper
matches when a sequence occurs at consecutive positions of its title or abstract.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from html import escape as html_escape  # django's escape, without wrapping every piece in SafeString

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from papers.acronyms import EMPTY_TABLE, AcronymTable, acronym_table, paper_definitions
from papers.salience import quiet_ranges
from papers.search_keys import (
    APOSTROPHES,
    ASCII_TOKEN,
    BREAK,
    CASED,
    MAX_KEYWORD_LENGTH,
    TOKEN,
    KeywordError,
    Query,
    Unit,
    cased_forms,
    closed_variants,
    fold,
    keyword_query,
    normalize_keyword,
    stem,
    stems,
)
from papers.topics import Expansion, acronym_key, keyword_expansion

__all__ = [
    "MAX_KEYWORD_LENGTH",
    "KeywordError",
    "KeywordMatch",
    "PaperIndex",
    "highlight",
    "keyword_alternatives",
    "keyword_form_found",
    "keyword_topics",
    "normalize_keyword",
]


@dataclass(frozen=True)
class KeywordMatch:
    paper_id: int
    score: float
    terms: tuple[str, ...]  # exact text matched, in order of appearance, for highlighting
    # The expansions that found it (papers.topics.Alternative labels), "" for the keyword
    # as typed: "CNN" matched as "convolutional neural network".
    via: tuple[str, ...] = ()


_MISSING = object()


# --- the index --------------------------------------------------------------------------


class PaperIndex:
    """A positional inverted index over some papers: key -> {paper id: position bits}.

    Positions are bits of a Python int: bit 2p marks a token at position p, bit 2p+1 the
    closed form of the two words at p and p+1 ("pre" "training" -> "pretrain"), so checking
    that one unit follows another in a paper is a shift and an AND. Build once, then
    match any number of keywords; each distinct normalized keyword is looked up once.
    """

    def __init__(self, acronyms: AcronymTable | None = None) -> None:
        # The corpus's acronyms (papers.acronyms.acronym_table()); without them, the glossary alone.
        self._acronyms = acronyms if acronyms is not None else EMPTY_TABLE
        self._quiet: dict[int, int] = {}  # paper id -> position bits of background / availability text
        self._definitions: dict[int, dict[str, set[str]]] = {}  # paper id -> SHORT -> long-form keys
        self._postings: dict[str, dict[int, int]] = {}
        self._docs: dict[int, tuple[str, str, int, list[int], list[int]]] = {}
        self._results: dict[object, list[KeywordMatch]] = {}
        # Per unit, on first use: its postings and the set of its papers as a bitmask, so
        # intersecting two common words costs a few machine words, not a hash per paper.
        self._units: dict[tuple[str, ...], tuple[dict[int, int], int] | None] = {}
        # Which papers have key x right before key y (each a token or a closed pair), by
        # hash((x, y)): rules out the papers that merely contain both words, before any
        # position is compared. Acronyms' cased keys are not in it.
        self._pairs: dict[int, int] = {}
        # Keys written as one token somewhere (not only as a closed pair of two tokens):
        # a keyword's closed spelling ("fewshot" for "few shot") is tried only for these.
        self._single: set[str] = set()
        self._order: list[int] = []  # bit n of a paper mask is paper self._order[n]
        self._bits: dict[int, int] = {}
        self._even = 0  # every even bit: the single-token positions

    def __len__(self) -> int:
        return len(self._docs)

    @classmethod
    def build(cls, papers: Iterable[tuple[int, str, str]], *, acronyms: AcronymTable | None = None) -> PaperIndex:
        """Index (id, title, abstract) triples. Pass `acronyms=acronym_table()` where the
        database is at hand (site search, digests) so corpus acronyms expand too."""
        index = cls(acronyms)
        longest = 0
        for paper_id, title, abstract in papers:
            if paper_id not in index._docs:
                index._bits[paper_id] = 1 << len(index._order)
                longest = max(longest, index._add(paper_id, title or "", abstract or ""))
                index._order.append(paper_id)
        index._even = int("01" * (longest + 2), 2)
        return index

    def _add(self, paper_id: int, title: str, abstract: str) -> int:
        """Index one paper; returns its number of positions."""
        postings = self._postings
        pairs = self._pairs
        single = self._single
        paper_bit = self._bits[paper_id]
        starts: list[int] = []
        ends: list[int] = []
        abstract_from = 0
        pos = 0
        for field, text in ((0, title), (1, abstract)):
            if field == 1:
                pos += 1  # a gap: no phrase runs from the title into the abstract
                abstract_from = pos
                starts.append(-1)
                ends.append(-1)
            prev_end = 0
            prev_word = None  # lowercase form of the previous token if it is letters
            # Keys of the last two tokens and of the closed pairs that started 2 and 3
            # positions back, for the pair filter; None across a break.
            key_1 = key_2 = pair_2 = pair_3 = None
            prev_digits = False
            first = True
            for m in (ASCII_TOKEN if text.isascii() else TOKEN).finditer(text):
                token = m.group()
                start = m.start()
                gap = text[prev_end:start]
                if token == "s" and gap and gap[-1] in APOSTROPHES and prev_word is not None:
                    prev_end = m.end()  # possessive: "BERT's" reads as "BERT"
                    continue
                is_digits = token.isdigit()
                if first:
                    joinable = False
                    first = False
                elif gap == " " or gap == "-":
                    joinable = True
                elif BREAK.search(gap) and not (is_digits and prev_digits and gap in ".,"):
                    pos += 1
                    starts.append(-1)
                    ends.append(-1)
                    joinable = False
                    key_1 = key_2 = pair_2 = pair_3 = None
                else:
                    joinable = bool(gap)
                bit = 1 << (2 * pos)
                if is_digits:
                    word = None
                    keys: tuple[str, ...] = (token,)
                else:
                    word = token.lower()
                    if not word.isascii():
                        word = fold(word)
                    keys = (stems.get(word) or stem(word),)
                    if len(token) > 1 and not token[1:].islower():  # BERT, BERTs, LoRA, mBERT
                        keys += cased_forms(token)
                for before in (key_1, pair_2):  # a token, or a closed pair, right before this token
                    if before is not None:
                        h = hash((before, keys[0]))
                        pairs[h] = pairs.get(h, 0) | paper_bit
                single.add(keys[0])
                for key in keys:
                    hits = postings.get(key)
                    if hits is None:
                        postings[key] = {paper_id: bit}
                    else:
                        hits[paper_id] = hits.get(paper_id, 0) | bit
                closed = None
                if joinable and word is not None and prev_word is not None:
                    pair = prev_word + word
                    closed = stems.get(pair) or stem(pair)
                    bit >>= 1  # odd bit of the previous position: two tokens from there
                    hits = postings.get(closed)
                    if hits is None:
                        postings[closed] = {paper_id: bit}
                    else:
                        hits[paper_id] = hits.get(paper_id, 0) | bit
                    for before in (key_2, pair_3):  # what came right before the closed pair
                        if before is not None:
                            h = hash((before, closed))
                            pairs[h] = pairs.get(h, 0) | paper_bit
                key_2, key_1 = key_1, keys[0]
                pair_3, pair_2 = pair_2, closed
                starts.append(start)
                ends.append(m.end())
                pos += 1
                prev_end = m.end()
                prev_word = word
                prev_digits = is_digits
        self._docs[paper_id] = (title, abstract, abstract_from, starts, ends)
        return pos

    def match(
        self, keyword: str, *, disabled: frozenset[str] = frozenset(), expand: bool = True
    ) -> list[KeywordMatch]:
        """Papers the keyword (with its expansions, but those `disabled`) is about, best first.

        Raises KeywordError for an unusable keyword. `disabled` holds Alternative keys;
        `expand=False` is the word layer alone: the keyword's own word forms and spellings.
        """
        query = keyword_query(keyword)
        cache_key = (query[0], disabled, expand) if disabled or not expand else query[0]
        found = self._results.get(cache_key)
        if found is None:
            expansion = keyword_expansion(query, self._acronyms) if expand else Expansion(query, None, ())
            found = self._results[cache_key] = self._matches(expansion, disabled)
        return found

    def match_many(self, keywords: Iterable[str]) -> dict[str, list[KeywordMatch]]:
        """match() for each keyword, keyed by the keyword as given; an unusable keyword gets []."""
        out = {}
        for keyword in keywords:
            if keyword not in out:
                try:
                    out[keyword] = self.match(keyword)
                except KeywordError:
                    out[keyword] = []
        return out

    def _quiet_positions(self, paper_id: int) -> int:
        """Position bits of the paper's availability lines and background lists (papers.salience)."""
        quiet = self._quiet.get(paper_id)
        if quiet is None:
            quiet = 0
            _, abstract, abstract_from, starts, _ = self._docs[paper_id]
            ranges = quiet_ranges(abstract)
            if ranges:
                for pos in range(abstract_from, len(starts)):
                    at = starts[pos]
                    if at >= 0 and any(a <= at < b for a, b in ranges):
                        quiet |= 1 << pos
            self._quiet[paper_id] = quiet
        return quiet

    def _defines(self, paper_id: int) -> dict[str, set[str]]:
        """SHORT -> long-form keys the paper itself defines ("long form (SHORT)")."""
        found = self._definitions.get(paper_id)
        if found is None:
            title, abstract = self._docs[paper_id][:2]
            found = {}
            for short, _, key in paper_definitions(title, abstract):
                found.setdefault(short, set()).add(key)
            self._definitions[paper_id] = found
        return found

    def _unit(self, unit: tuple[str, ...]) -> tuple[dict[int, int], int] | None:
        """(paper id -> position bits, bitmask of those papers) for a unit, or None."""
        if len(unit) == 1:
            hits = self._postings.get(unit[0])
        else:
            hits = {}
            for key in unit:
                for paper_id, positions in self._postings.get(key, {}).items():
                    hits[paper_id] = hits.get(paper_id, 0) | positions
        found = None
        if hits:
            bits = self._bits
            papers = 0
            for paper_id in hits:
                papers |= bits[paper_id]
            found = (hits, papers)
        self._units[unit] = found
        return found

    def _spans(self, query: Query) -> dict[int, set[tuple[int, int]]]:
        """paper id -> (start, end) positions where the query occurs in some spelling."""
        found: dict[int, set[tuple[int, int]]] = {}
        _, units, _, filters, closable = query
        self._find(units, filters, found)
        if closable:
            # Closed spellings ("fewshot" for "few shot") only where a paper writes the word
            # as one token: where it is written open, the open sequence already matched.
            present = [(i, unit) for i, unit in closable if unit[0] in self._single]
            if present:
                for sequence, sequence_filters in closed_variants(query, present):
                    self._find(sequence, sequence_filters, found)
        return found

    def _lookup(self, unit: Unit) -> tuple[dict[int, int], int] | None:
        got = self._units.get(unit, _MISSING)
        return self._unit(unit) if got is _MISSING else got

    def _find(self, sequence: tuple[Unit, ...], filters: tuple[int, ...], found: dict) -> None:
        """Add to `found` where the units of `sequence` occur at consecutive positions."""
        papers = -1
        pairs = self._pairs
        for h in filters:  # first the cheap test that rules out most keywords at once
            papers &= pairs.get(h, 0)
            if not papers:
                return
        units = []
        for unit in sequence:
            got = self._lookup(unit)
            if got is None:
                return
            papers &= got[1]
            if not papers:
                return
            units.append(got[0])
        order = self._order
        even = self._even
        odd = even << 1
        first, rest = units[0], units[1:]
        second = rest[0] if rest else None
        while papers:
            low = papers & -papers
            papers ^= low
            paper_id = order[low.bit_length() - 1]
            positions = first[paper_id]
            if second is not None:
                # Where the next unit must start: one token on, or two after a closed pair...
                ends = ((positions & even) << 2) | ((positions & odd) << 3)
                # ...and whether the next unit starts at any of those places, at once.
                following = second[paper_id]
                if not ends & (following | (following >> 1)):
                    continue
                for hits in rest[1:]:
                    ends = ((ends & following) << 2) | (((ends << 1) & following) << 3)
                    following = hits[paper_id]
                    if not ends & (following | (following >> 1)):
                        break
                else:
                    found.setdefault(paper_id, set()).update(_chain(positions, [h[paper_id] for h in rest]))
            else:
                found.setdefault(paper_id, set()).update(_chain(positions, []))

    def _matches(self, expansion: Expansion, disabled: frozenset[str]) -> list[KeywordMatch]:
        # paper id -> spans of the keyword as typed; and, for the alternatives, paper id ->
        # span -> (its label, whether it is a narrower term or a benchmark rather than one
        # of the concept's names). Most keywords have no alternatives: one dict, no labels.
        hits = self._spans(expansion.query)
        labelled: dict[int, dict[tuple[int, int], tuple[str, bool]]] = {}
        if expansion.long_forms:
            # Switching off one of an acronym's several senses drops the papers that define
            # it that way; switching off its only sense drops only the long-form matches.
            long_forms = (expansion.long_forms - disabled if disabled else expansion.long_forms) or expansion.long_forms
            short = acronym_key(expansion.query)
            if short is not None:
                for paper_id in [p for p in hits if self._defined_otherwise(p, short, long_forms)]:
                    del hits[paper_id]
        for alternative in expansion.enabled(disabled):
            short = acronym_key(alternative.query)
            senses = alternative.senses or expansion.long_forms
            if disabled and short is not None:
                senses = (senses - disabled) or senses
            mark = (alternative.label, alternative.kind in ("narrower", "benchmark"))
            for paper_id, spans in self._spans(alternative.query).items():
                if short is not None:
                    # A bare acronym counts unless the paper defines it as something else; a
                    # short one from a long-form keyword only where the paper defines it so.
                    if alternative.strict:
                        if not self._defines(paper_id).get(short[len(CASED) :], set()) & senses:
                            continue
                    elif self._defined_otherwise(paper_id, short, senses):
                        continue
                own = hits.setdefault(paper_id, set())
                marks = labelled.setdefault(paper_id, {})
                for span in spans:
                    if span not in own:
                        own.add(span)
                        marks[span] = mark
        if not hits:
            return []
        excluded: dict[int, set[tuple[int, int]]] = {}
        for query in expansion.excludes:  # other senses: "CNN/DailyMail" is a dataset
            for paper_id, spans in self._spans(query).items():
                if paper_id in hits:
                    excluded.setdefault(paper_id, set()).update(spans)
        matches = []
        for paper_id, spans in hits.items():
            title, abstract, abstract_from, starts, ends = self._docs[paper_id]
            quiet = self._quiet_positions(paper_id)
            senses = excluded.get(paper_id)
            marks = labelled.get(paper_id)
            title_hits = abstract_hits = related_title = related_abstract = 0
            terms: dict[str, None] = {}
            via: dict[str, None] = {}
            for start, end in sorted(spans):
                if quiet >> start & 1 or (senses and any(s <= start and end <= e for s, e in senses)):
                    continue  # background, an availability line, or another sense
                label, related = marks.get((start, end), _AS_TYPED) if marks else _AS_TYPED
                if start < abstract_from:
                    if related:
                        related_title += 1
                    else:
                        title_hits += 1
                    terms[title[starts[start] : ends[end - 1]]] = None
                else:
                    if related:
                        related_abstract += 1
                    else:
                        abstract_hits += 1
                    terms[abstract[starts[start] : ends[end - 1]]] = None
                via[label] = None
            if not terms:
                continue
            # A title hit outweighs any number of abstract hits; more hits count, up to a cap.
            # Hits through narrower terms count half, and one title hit at most: a paper
            # that names the keyword ranks above one that names only its family.
            score = 3.0 * min(title_hits, 2) + 0.5 * min(abstract_hits, 5)
            if marks:
                score += 1.5 * min(related_title, 1) + 0.25 * min(related_abstract, 5)
            matches.append(KeywordMatch(paper_id, score, tuple(terms), tuple(via)))
        matches.sort(key=lambda m: (-m.score, m.paper_id))
        return matches

    def _defined_otherwise(self, paper_id: int, short: str, long_forms: frozenset[str]) -> bool:
        defined = self._defines(paper_id).get(short[len(CASED) :])
        return bool(defined) and not defined & long_forms


_AS_TYPED = ("", False)


def _chain(first: int, rest: list[int]) -> list[tuple[int, int]]:
    """(start, end) positions of a sequence in one paper, from each unit's position bits."""
    spans = []
    while first:
        low = first & -first
        first ^= low
        bit = low.bit_length() - 1
        spans.append((bit >> 1, (bit >> 1) + 1 + (bit & 1)))
    for positions in rest:
        spans = [(s, e + 1) for s, e in spans if positions >> (2 * e) & 1] + [
            (s, e + 2) for s, e in spans if positions >> (2 * e + 1) & 1
        ]
    return spans


# --- site search and highlighting ---------------------------------------------------------


@lru_cache(maxsize=50_000)  # per distinct card: a digest run renders the same ones many times
def keyword_form_found(keyword: str, terms: tuple[str, ...]) -> str | None:
    """Which of a match's `terms` the keyword was found as, when not as typed: for the
    email's line "CNN, as “convolutional neural network”". None when a term is the
    keyword itself (in any spelling), or none is one of its glossary expansions."""
    try:
        index = PaperIndex.build((n, term, "") for n, term in enumerate(terms))
        if not terms or index.match(keyword, expand=False):
            return None
        found = index.match(keyword)
    except KeywordError:
        return None
    return terms[min(m.paper_id for m in found)] if found else None


def keyword_topics(keyword: str, *, acronyms: AcronymTable | None = None) -> Expansion:
    """What the keyword also matches (papers.topics), with the stored corpus acronyms:
    what the signup preview and the manage page list, each switchable by its `key`.
    `acronyms`: the corpus's table when the caller already read it (one read per request).
    Raises KeywordError for an unusable keyword."""
    return keyword_expansion(keyword_query(keyword), acronym_table() if acronyms is None else acronyms)


def keyword_alternatives(
    keyword: str, *, disabled: frozenset[str] = frozenset(), acronyms: AcronymTable | None = None
) -> list[tuple[tuple[str, ...], ...]]:
    """Every sequence of units (each a tuple of alternative keys) through which the
    keyword, its enabled expansions included, can match a paper.

    Invariant (docs/matching.md, docs/search.md): if PaperIndex.match(keyword)
    finds paper P, every unit of at least one of these sequences has a key among P's
    index keys. Exclusions, acronym evidence and salience only ever remove matches.
    `acronyms`: the corpus's table when the caller already read it (one read per search).
    Raises KeywordError for an unusable keyword.
    """
    query = keyword_query(keyword)
    expansion = keyword_expansion(query, acronym_table() if acronyms is None else acronyms)
    sequences = []
    for alternative in (query, *(a.query for a in expansion.enabled(disabled))):
        sequences.append(alternative[1])
        sequences += [sequence for sequence, _ in closed_variants(alternative, list(alternative[4]))]
    return sequences


_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


@cache
def _token_edges(term: str) -> tuple[re.Pattern | None, re.Pattern | None]:
    """What may not touch the term's first and last character for it to be a whole token."""
    first, last = term[0], term[-1]
    lead = _LETTER if first.isalpha() else _DIGIT if first.isdigit() else None
    tail = _LETTER if last.isalpha() else _DIGIT if last.isdigit() else None
    return lead, tail


def highlight(text: str, terms: Iterable[str], *, mark_open: str = "<mark>") -> SafeString:
    """HTML-escaped text with each occurrence of the given terms wrapped in <mark>.

    Terms are exact strings as in KeywordMatch.terms (case-sensitive, whole tokens:
    "BERT" not inside "RoBERTa"); where two overlap, the leftmost wins, and the longest
    at one position. To highlight a keyword, match it first:
    `highlight(t, PaperIndex.build([(0, t, "")]).match(k)[0].terms)`. `mark_open`
    replaces the opening tag (emails style it inline).

    str.find, not a regex: the digest run highlights thousands of distinct sets of
    terms, and a compiled pattern per set cost more than the search itself.
    """
    text = text or ""
    spans = []
    end_of_text = len(text)
    for term in {t for t in terms if t and t.strip()}:
        lead, tail = _token_edges(term)
        size = len(term)
        at = text.find(term)
        while at >= 0:
            after = at + size
            if not (lead and at and lead.match(text[at - 1])) and not (
                tail and after < end_of_text and tail.match(text[after])
            ):
                spans.append((at, -size))
            at = text.find(term, at + 1)
    if not spans:
        return escape(text)
    spans.sort()  # leftmost first; at one position, the longest (-size) first
    out, last = [], 0
    for at, negative_size in spans:
        if at < last:
            continue
        after = at - negative_size
        out += [html_escape(text[last:at]), mark_open, html_escape(text[at:after]), "</mark>"]
        last = after
    out.append(html_escape(text[last:]))
    return mark_safe("".join(out))
