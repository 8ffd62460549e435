"""How text and keywords become index keys: tokens, stems, normalized keywords.

The text side (papers.search.PaperIndex) and the keyword side (here) must agree on
every rule, so both live on these few functions. The rules are in docs/matching.md.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

MAX_KEYWORD_LENGTH = 100  # the size of subscriptions.Keyword.text

# Letters or digits; "GPT3" is two tokens so that it matches like "GPT-3".
TOKEN = re.compile(r"[^\W\d_]+|\d+")
ASCII_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+")  # the same on ASCII text, three times faster
# Punctuation that ends a phrase: "a graph. Neural networks..." is no "graph neural network".
BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”«»<>|]|\n\s*\n")
APOSTROPHES = frozenset("'’")
_QUOTES = "\"'“”‘’«»`"
CASED = "^"  # prefix of case-sensitive keys; stems are lowercase letters and digits

# Written closed, hyphenated or open alike ("pre-training", "pretraining", "pre training"):
# the normalized form closes them, so all three are one keyword.
BOUND_PREFIXES = frozenset(
    "pre post auto multi co re non semi sub un bi anti inter intra hyper meta fine".split()
)
_LONG_PREFIXES = tuple(p for p in BOUND_PREFIXES if len(p) > 2)
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
}
# A nominalization and its tool are one topic, its verb is not: "tokenization" and
# "tokenizer" share the key "tokeniz", while "tokens", "tokenized" keep Snowball's "token";
# "summarization" is not "this paper summarizes". (Snowball alone folds all of them.)
_NOMINAL = re.compile(r"([a-z]{3,}?)i[sz](?:ation|ations|er|ers)")

# No PyStemmer cache: ours (stems) is a plain dict and much cheaper per miss.
_stemmer = Stemmer.Stemmer("english", 0)
stems: dict[str, str] = {}


class KeywordError(ValueError):
    """A keyword we cannot match; the message is written for the person who typed it."""


def fold(word: str) -> str:
    """Accents off ("naïve" -> "naive"); a word stays a word ("x²" -> "x", "¼" stays)."""
    if word.isascii():
        return word
    return ("".join(c for c in unicodedata.normalize("NFKD", word) if c.isalpha()) or word).lower()


def stem(word: str) -> str:
    """The key of a lowercase word: Snowball English, then the two adjustments above."""
    key = stems.get(word)
    if key is None:
        if word.isdigit():
            key = word
        else:
            singular = word[:-1] if word.endswith("ers") else word
            key = singular if singular.endswith(_KEEP_ER) and singular.endswith("er") else _stemmer.stemWord(word)
            if key in _FOLD:
                key = _FOLD[key]
            else:
                nominal = _NOMINAL.fullmatch(word)
                if nominal is not None:
                    key = nominal.group(1) + "iz"
        if len(stems) > 500_000:  # a vocabulary, not a leak: bound it anyway
            stems.clear()
        stems[word] = key
    return key


def _is_cased(token: str) -> bool:
    """An acronym or a name written with inner capitals: BERT, GPT, LoRA, ViT, mBERT."""
    if len(token) < 2 or not token.isalpha():
        return False
    if token.isupper():
        return len(token) <= 5
    return not token[1:].islower()


def cased_forms(token: str) -> tuple[str, ...]:
    """Case-sensitive keys of a text token: itself, and without a plural s ("BERTs")."""
    if token.endswith("s") and len(token) > 2 and token[-2].isupper():
        return (CASED + token, CASED + token[:-1])
    return (CASED + token,)


# --- keywords ---------------------------------------------------------------------------


# A compiled keyword, as plain tuples (50,000 are built per digest run):
# (normalized form, units, plain, filters, closable). Units must occur at consecutive
# positions; a unit is a tuple of keys, any of which may occur. plain[i] is False for an
# acronym's cased unit. filters are hash((x, y)) of adjacent plain units, which the
# index's pair filter uses to rule papers out early. closable lists (i, unit): words i
# and i+1 may also be written closed in the text ("few shot" / "fewshot").
Unit = tuple[str, ...]
Query = tuple[str, tuple[Unit, ...], tuple[bool, ...], tuple[int, ...], tuple[tuple[int, Unit], ...]]


def _keyword_tokens(text: str) -> tuple[tuple[str, str], ...]:
    """(kind, token) pairs of a keyword as typed: kind is "cased", "word" or "digits"."""
    text = text.strip().strip(_QUOTES)
    if "'" in text or "’" in text:
        words = [
            m.group()
            for m in TOKEN.finditer(text)
            if not (m.group() == "s" and m.start() and text[m.start() - 1] in APOSTROPHES)  # possessive
        ]
    else:
        words = (ASCII_TOKEN if text.isascii() else TOKEN).findall(text)
    # Typed with caps lock on ("GRAPH NEURAL NETWORK"): words, not acronyms.
    shouting = text.isupper() and any(len(w) > 5 for w in words)
    tokens = []
    prefixed = False
    for word in words:
        if word.islower():
            word = word if word.isascii() else fold(word)  # fold first: "cº" is the prefix "co"
            prefixed = prefixed or word in BOUND_PREFIXES
            tokens.append(("word", word))
        elif word.isdigit():
            tokens.append(("digits", word))
        elif not shouting and _is_cased(word):
            if word.endswith("s") and len(word) > 2 and word[-2].isupper():
                word = word[:-1]  # "GPTs", "LLMs": the plural of an acronym
            tokens.append(("cased", word))
        else:
            word = fold(word.lower())
            prefixed = prefixed or word in BOUND_PREFIXES
            tokens.append(("word", word))
    if prefixed and len(tokens) > 1:
        # Close a bound prefix onto the next word, unless that word begins with a prefix
        # itself ("non autoregressive" stays open): the text side closes pairs of tokens,
        # never three, and the rule gives the same answer on its own output.
        for i in range(len(tokens) - 2, -1, -1):
            kind, word = tokens[i]
            following = tokens[i + 1][1]
            if (
                kind == "word"
                and word in BOUND_PREFIXES
                and tokens[i + 1][0] == "word"
                and not any(following.startswith(p) for p in _LONG_PREFIXES)
            ):
                tokens[i : i + 2] = [("word", word + following)]
    return tuple(tokens)


def normalize_keyword(text: str) -> str:
    """The canonical form stored in Keyword.normalized; "" when nothing in it can match.

    Case, hyphens, spacing and quotes do not count ("Pre-Training", "pre training",
    "pretraining" -> "pretraining"); acronyms keep their case ("BERT"); matching the
    normalized form finds exactly what matching the text finds.
    """
    return parse_keyword(text)[0] if text else ""


@lru_cache(maxsize=200_000)
def parse_keyword(text: str) -> Query:
    # Compiled from the normalized tokens, so "pre training" and "Pretraining" are one
    # query and match(k) and match(normalize_keyword(k)) agree by construction.
    return _compile(_keyword_tokens(text))


def _compile(tokens: tuple[tuple[str, str], ...]) -> Query:
    cache = stems
    units = []
    plain = []  # False for an acronym's cased unit, which the pair filter does not know
    filters = []
    closable = []
    previous = None  # (kind, word, unit) of the previous token
    for kind, word in tokens:
        if kind == "word":
            unit: Unit = (cache.get(word) or stem(word),)
        elif kind == "digits":
            unit = (word,)
        else:
            unit = (CASED + word,) if word.isupper() else (CASED + word, CASED + word.upper())
        if previous is not None:
            if kind != "cased" and previous[0] != "cased":
                filters.append(hash((previous[2][0], unit[0])))
            if kind == previous[0] == "word":
                pair = previous[1] + word
                closable.append((len(units) - 1, (cache.get(pair) or stem(pair),)))
        units.append(unit)
        plain.append(kind != "cased")
        previous = (kind, word, unit)
    normalized = " ".join([word for _, word in tokens])
    return (normalized, tuple(units), tuple(plain), tuple(filters), tuple(closable))


def pair_filters(units, plain) -> tuple[int, ...]:
    """hash((x, y)) of each two adjacent plain units, as the index's pair filter keys them."""
    return tuple([hash((units[i][0], units[i + 1][0])) for i in range(len(units) - 1) if plain[i] and plain[i + 1]])


def closed_variants(query: Query, closable: list[tuple[int, Unit]]) -> list[tuple[tuple[Unit, ...], tuple[int, ...]]]:
    """(units, filters) for the query with some of the given pairs of words closed: every
    set of non-overlapping pairs, at most 31."""
    _, units, plain, _, _ = query
    variants = []
    for joins in _join_sets(tuple(i for i, _ in closable)):
        closed = dict(closable)
        sequence, flags = [], []
        i = 0
        while i < len(units):
            if i in joins:
                sequence.append(closed[i])
                flags.append(True)
                i += 2
            else:
                sequence.append(units[i])
                flags.append(plain[i])
                i += 1
        variants.append((tuple(sequence), pair_filters(sequence, flags)))
    return variants


@lru_cache(maxsize=256)
def _join_sets(joinable: tuple[int, ...]) -> tuple[frozenset[int], ...]:
    """Every non-empty set of non-overlapping pairs to close (at most 31 of them)."""
    sets: list[frozenset[int]] = [frozenset()]
    for i in joinable:
        sets += [s | {i} for s in sets if i - 1 not in s]
    return tuple(sets[1:32])


def keyword_query(keyword: str) -> Query:
    if len(keyword) > MAX_KEYWORD_LENGTH:
        raise KeywordError(f"That keyword is {len(keyword)} characters long; at most {MAX_KEYWORD_LENGTH}.")
    query = parse_keyword(keyword)
    if not query[1]:
        raise KeywordError("Type a keyword with at least one letter or digit.")
    return query
