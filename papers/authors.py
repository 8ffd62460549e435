"""Author names compared the way a reader means them: "Yann LeCun", "Y. LeCun" and
"LeCun, Yann" are one author; "José García" and "Jose Garcia" too.

The key is the first initial and the surname, accents folded and case ignored
("y lecun"). It trades a little precision (two authors who share an initial and a
surname look alike) for the recall a reader expects when they type "Y. LeCun".
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Particles that belong to the surname: "van der Maaten", "de Freitas".
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "la", "le", "ter", "ten"})


# Letters NFKD does not take apart into a base letter and an accent.
_UNDECOMPOSED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_UNDECOMPOSED)


def author_key(name: str) -> str:
    """The comparable form of an author's name ("" when it has no letters).

    "LeCun, Yann" (surname first, as in citations) is read as "Yann LeCun".
    """
    name = " ".join(name.split())
    if name.count(",") == 1:
        surname, given = name.split(",")
        name = f"{given} {surname}"
    words = [w.replace("’", "'") for w in _WORD.findall(_fold(name))]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    # The surname starts at the first particle after the given names, or is the last word.
    start = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i] in _PARTICLES:
            start = i
            break
    return f"{words[0][0]} {' '.join(words[start:])}"


def authors_keys(names: Iterable[str]) -> set[str]:
    """author_key of each name, the empty ones left out."""
    return {key for name in names if isinstance(name, str) and (key := author_key(name))}
