"""Keyword matching: the one place that decides whether a paper is about a keyword.

Shared by site search (`papers_matching`) and the daily digests (`PaperIndex`).
The rules a reader can rely on, the algorithm and its measured quality and speed
are in docs/matching.md. In short: text becomes positions of stemmed tokens (plus
the stems of adjacent word pairs, so "pre training" is also "pretraining"); a
keyword becomes one or more sequences of keys; a paper matches when a sequence
occurs at consecutive positions of its title or abstract.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Iterable

import Stemmer
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from papers.models import Paper

MAX_KEYWORD_LENGTH = 100  # the size of subscriptions.Keyword.text

# Letters or digits; "GPT3" is two tokens so that it matches like "GPT-3".
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
# Punctuation that ends a phrase: "a graph. Neural networks..." is no "graph neural network".
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”«»<>|]|\n\s*\n")
_APOSTROPHES = frozenset("'’")
_QUOTES = "\"'“”‘’«»`"
_CASED = "^"  # prefix of case-sensitive keys; stems are lowercase letters and digits

# Written closed, hyphenated or open alike ("pre-training", "pretraining", "pre training"):
# the normalized form closes them, so all three are one keyword.
BOUND_PREFIXES = frozenset(
    "pre post auto multi co re non semi sub un bi anti inter intra hyper meta fine".split()
)
# Snowball strips "-er" from these, which would make "transformer" match "transformation",
# "tokenizer" match "token", "optimizer" match "optimal", "adapter" match "adaptation":
# different things to a reader, so such nouns keep their "-er".
_KEEP_ER = ("former", "izer", "iser", "apter", "puter")
# Derivations Snowball leaves apart that readers treat as one topic (agent nouns and
# their activity). Keys are stems; documented in docs/matching.md.
_FOLD = {
    "learner": "learn",
    "detector": "detect",
    "predictor": "predict",
    "recognit": "recogn",
    "recognizer": "recogn",
    "classif": "classifi",
    "planner": "plan",
    "parser": "pars",
    "summarizer": "summar",
}

_stemmer = Stemmer.Stemmer("english")
_stems: dict[str, str] = {}


class KeywordError(ValueError):
    """A keyword we cannot match; the message is written for the person who typed it."""


@dataclass(frozen=True)
class KeywordMatch:
    paper_id: int
    score: float
    terms: tuple[str, ...]  # exact text matched, in order of appearance, for highlighting


def _fold(word: str) -> str:
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _stem(word: str) -> str:
    """The key of a lowercase word: Snowball English, then the two adjustments above."""
    stem = _stems.get(word)
    if stem is None:
        if word.isdigit():
            stem = word
        else:
            singular = word[:-1] if word.endswith("ers") else word
            if singular.endswith(_KEEP_ER) and singular.endswith("er"):
                stem = singular
            else:
                stem = _stemmer.stemWord(word)
            stem = _FOLD.get(stem, stem)
        if len(_stems) > 500_000:  # a vocabulary, not a leak: bound it anyway
            _stems.clear()
        _stems[word] = stem
    return stem


def _is_cased(token: str) -> bool:
    """An acronym or a name written with inner capitals: BERT, GPT, LoRA, ViT, mBERT."""
    if len(token) < 2 or not token.isalpha():
        return False
    if token.isupper():
        return len(token) <= 5
    return not token[1:].islower()


def _cased_forms(token: str) -> tuple[str, ...]:
    """Case-sensitive keys of a text token: itself, and without a plural s ("BERTs")."""
    if token.endswith("s") and len(token) > 2 and token[-2].isupper():
        return (_CASED + token, _CASED + token[:-1])
    return (_CASED + token,)


# --- keywords ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    normalized: str
    alternatives: tuple[tuple[tuple[str, ...], ...], ...]  # sequences of units; a unit is keys (any matches)
    tokens: tuple[tuple[str, str], ...]


def _keyword_tokens(text: str) -> list[tuple[str, str]]:
    """(kind, token) pairs of a keyword as typed: kind is "cased", "word" or "digits"."""
    words = []
    text = text.strip().strip(_QUOTES)
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token == "s" and m.start() and text[m.start() - 1] in _APOSTROPHES:
            continue  # possessive
        words.append(token)
    letters = [w for w in words if w.isalpha()]
    # Typed with caps lock on ("GRAPH NEURAL NETWORK"): words, not acronyms.
    shouting = bool(letters) and all(w.isupper() for w in letters) and any(len(w) > 5 for w in letters)
    tokens = []
    for word in words:
        if word.isdigit():
            tokens.append(("digits", word))
        elif not shouting and _is_cased(word):
            if word.endswith("s") and len(word) > 2 and word[-2].isupper():
                word = word[:-1]  # "GPTs", "LLMs": the plural of an acronym
            tokens.append(("cased", word))
        else:
            tokens.append(("word", _fold(word.lower())))
    # Close bound prefixes, right to left so "non auto regressive" is one word.
    for i in range(len(tokens) - 2, -1, -1):
        kind, word = tokens[i]
        if kind == "word" and word in BOUND_PREFIXES and tokens[i + 1][0] == "word":
            tokens[i : i + 2] = [("word", word + tokens[i + 1][1])]
    return tokens


def normalize_keyword(text: str) -> str:
    """The canonical form stored in Keyword.normalized; "" when nothing in it can match.

    Case, hyphens, spacing and quotes do not count ("Pre-Training", "pre training",
    "pretraining" -> "pretraining"); acronyms keep their case ("BERT"); matching the
    normalized form finds exactly what matching the text finds.
    """
    return _parse(text).normalized if text else ""


@lru_cache(maxsize=200_000)
def _parse(text: str) -> _Query:
    # Compile the normalized form, not the text: "pre training" and "Pretraining" become one
    # query, so match(k) and match(normalize_keyword(k)) agree by construction.
    return _compile(" ".join(word for _, word in _keyword_tokens(text)))


@lru_cache(maxsize=200_000)
def _compile(normalized: str) -> _Query:
    tokens = _keyword_tokens(normalized)
    units = []
    for kind, word in tokens:
        if kind == "cased":
            keys = (_CASED + word,) if word.isupper() else (_CASED + word, _CASED + word.upper())
        else:
            keys = (_stem(word),)
        units.append(keys)

    def sequences(i: int):
        # Each pair of adjacent words may also be written closed in the text ("few shot" /
        # "fewshot"); the text side indexes open pairs, so together every spelling meets.
        if i == len(units):
            yield ()
            return
        for rest in sequences(i + 1):
            yield (units[i],) + rest
        if i + 1 < len(units) and tokens[i][0] == tokens[i + 1][0] == "word":
            joined = (_stem(tokens[i][1] + tokens[i + 1][1]),)
            for rest in sequences(i + 2):
                yield (joined,) + rest

    return _Query(normalized, tuple(islice(sequences(0), 32)) if units else (), tuple(tokens))


def _query(keyword: str) -> _Query:
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise KeywordError(f"That keyword is {len(keyword)} characters long; at most {MAX_KEYWORD_LENGTH}.")
    query = _parse(keyword)
    if not query.alternatives:
        raise KeywordError("Type a keyword with at least one letter or digit.")
    return query


# --- the index --------------------------------------------------------------------------


class PaperIndex:
    """An inverted index over some papers: key -> {paper id: [position codes]}.

    A position code is `position * 2 + (span - 1)`: span 2 marks the closed form of two
    adjacent words ("pre" "training" -> "pretrain"). Build once, then match any number of
    keywords; each distinct normalized keyword is looked up once (results are cached).
    """

    def __init__(self) -> None:
        self._postings: dict[str, dict[int, list[int]]] = {}
        self._docs: dict[int, tuple[str, str, int, list[int], list[int]]] = {}
        self._results: dict[str, list[KeywordMatch]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    @classmethod
    def build(cls, papers: Iterable[tuple[int, str, str]]) -> PaperIndex:
        index = cls()
        for paper_id, title, abstract in papers:
            index._add(paper_id, title or "", abstract or "")
        return index

    def _add(self, paper_id: int, title: str, abstract: str) -> None:
        postings = self._postings
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
            prev_digits = False
            first = True
            for m in _TOKEN.finditer(text):
                token = m.group()
                start = m.start()
                gap = text[prev_end:start]
                if token == "s" and gap and gap[-1] in _APOSTROPHES and prev_word is not None:
                    prev_end = m.end()  # possessive: "BERT's" reads as "BERT"
                    continue
                is_digits = token.isdigit()
                if first:
                    joinable = False
                    first = False
                elif gap == " " or gap == "-":
                    joinable = True
                elif _BREAK.search(gap) and not (is_digits and prev_digits and gap in ".,"):
                    pos += 1
                    starts.append(-1)
                    ends.append(-1)
                    joinable = False
                else:
                    joinable = bool(gap)
                if is_digits:
                    word = None
                    key = token
                else:
                    word = _fold(token.lower())
                    key = _stem(word)
                    if len(token) > 1 and not token[1:].islower():  # BERT, BERTs, LoRA, mBERT
                        for cased in _cased_forms(token):
                            postings.setdefault(cased, {}).setdefault(paper_id, []).append(pos * 2)
                postings.setdefault(key, {}).setdefault(paper_id, []).append(pos * 2)
                if joinable and word is not None and prev_word is not None:
                    pair = _stem(prev_word + word)
                    postings.setdefault(pair, {}).setdefault(paper_id, []).append((pos - 1) * 2 + 1)
                starts.append(start)
                ends.append(m.end())
                pos += 1
                prev_end = m.end()
                prev_word = word
                prev_digits = is_digits
        self._docs[paper_id] = (title, abstract, abstract_from, starts, ends)

    def match(self, keyword: str) -> list[KeywordMatch]:
        """Papers the keyword matches, best first. Raises KeywordError for an unusable keyword."""
        query = _query(keyword)
        found = self._results.get(query.normalized)
        if found is None:
            found = self._results[query.normalized] = self._matches(query)
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

    def _spans(self, query: _Query) -> dict[int, set[tuple[int, int]]]:
        """paper id -> (start, end) positions where one of the query's sequences occurs."""
        postings = self._postings
        found: dict[int, set[tuple[int, int]]] = {}
        for sequence in query.alternatives:
            unit_postings = []
            for unit in sequence:
                if len(unit) == 1:
                    hits = postings.get(unit[0])
                else:
                    hits = {}
                    for key in unit:
                        for paper_id, codes in postings.get(key, {}).items():
                            hits.setdefault(paper_id, []).extend(codes)
                if not hits:
                    break
                unit_postings.append(hits)
            else:
                first = unit_postings[0]
                if len(unit_postings) == 1:
                    for paper_id, codes in first.items():
                        found.setdefault(paper_id, set()).update(((c >> 1), (c >> 1) + (c & 1) + 1) for c in codes)
                    continue
                candidates = set(min(unit_postings, key=len))
                for hits in unit_postings:
                    candidates.intersection_update(hits.keys())
                for paper_id in candidates:
                    spans = [(c >> 1, (c >> 1) + (c & 1) + 1) for c in first[paper_id]]
                    for hits in unit_postings[1:]:
                        following: dict[int, list[int]] = {}
                        for c in hits[paper_id]:
                            following.setdefault(c >> 1, []).append((c >> 1) + (c & 1) + 1)
                        spans = [(s, e2) for s, e in spans for e2 in following.get(e, ())]
                        if not spans:
                            break
                    if spans:
                        found.setdefault(paper_id, set()).update(spans)
        return found

    def _matches(self, query: _Query) -> list[KeywordMatch]:
        matches = []
        for paper_id, spans in self._spans(query).items():
            title, abstract, abstract_from, starts, ends = self._docs[paper_id]
            title_hits = 0
            terms: dict[str, None] = {}
            for start, end in sorted(spans):
                if start < abstract_from:
                    title_hits += 1
                    terms[title[starts[start] : ends[end - 1]]] = None
                else:
                    terms[abstract[starts[start] : ends[end - 1]]] = None
            abstract_hits = len(spans) - title_hits
            # A title hit outweighs any number of abstract hits; more hits count, up to a cap.
            score = 3.0 * min(title_hits, 2) + 0.5 * min(abstract_hits, 5)
            matches.append(KeywordMatch(paper_id, score, tuple(terms)))
        matches.sort(key=lambda m: (-m.score, m.paper_id))
        return matches


# --- site search and highlighting ---------------------------------------------------------

_SEPARATORS = "[^a-z0-9]*"  # what may stand between the letters of a closed word in the text


def _prefilter(query: _Query):
    """A Q that keeps every paper the query can match (and some it cannot), so the index
    is built over candidates, not the whole table. Each unit must appear as its stem
    minus the last letter (Snowball only rewrites the last letter: study -> studi), with
    any separators between letters ("pre-training" for the key "pretrain")."""
    from django.db.models import Q

    either = Q(pk__in=[])
    for sequence in query.alternatives:
        every = Q()
        for unit in sequence:
            key = unit[0]
            if key.startswith(_CASED):
                word = key[len(_CASED) :]
                pattern = re.escape(word)
            elif key.isdigit() or len(key) < 3 or not key.isascii() or not key.isalnum():
                continue  # too short to filter on, or the database compares accents differently
            else:
                pattern = _SEPARATORS.join(key[:-1])
            every &= Q(title__iregex=pattern) | Q(abstract__iregex=pattern)
        either |= every
    return either


def papers_matching(keyword: str, queryset: QuerySet[Paper] | None = None) -> list[Paper]:
    """Visible papers the keyword matches, best match first, each with `.keyword_match`.

    `queryset` narrows the candidates (a date window, say); hidden papers are always
    left out. Raises KeywordError (a ValueError) for an empty, junk or too-long keyword.
    """
    from papers.models import Paper

    query = _query(keyword)
    candidates = Paper.objects.all() if queryset is None else queryset
    papers = {p.id: p for p in candidates.filter(is_hidden=False).filter(_prefilter(query))}
    index = PaperIndex.build((p.id, p.title, p.abstract) for p in papers.values())
    found = []
    for match in index.match(query.normalized):
        paper = papers[match.paper_id]
        paper.keyword_match = match
        found.append(paper)
    return found


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern:
    def bounded(term: str) -> str:
        # A term is marked only where it is a whole token: "BERT" not inside "RoBERTa".
        lead = r"(?<![^\W\d_])" if term[0].isalpha() else r"(?<!\d)" if term[0].isdigit() else ""
        tail = r"(?![^\W\d_])" if term[-1].isalpha() else r"(?!\d)" if term[-1].isdigit() else ""
        return lead + re.escape(term) + tail

    return re.compile("|".join(bounded(t) for t in terms))


def highlight(text: str, terms: Iterable[str]) -> SafeString:
    """HTML-escaped text with each occurrence of the given terms wrapped in <mark>.

    Terms are exact strings as in KeywordMatch.terms (case-sensitive, whole tokens);
    to highlight a keyword, match it first: `highlight(t, PaperIndex.build([(0, t, "")]).match(k)[0].terms)`.
    """
    text = text or ""
    wanted = tuple(sorted({t for t in terms if t and t.strip()}, key=lambda t: (-len(t), t)))
    if not wanted:
        return escape(text)
    out = []
    last = 0
    for m in _terms_pattern(wanted).finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(f"<mark>{escape(m.group())}</mark>")
        last = m.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))
