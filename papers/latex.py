"""LaTeX fragments in titles and abstracts, turned into readable text.

The conversion is pylatexenc's (`LatexNodes2Text`); what we add around it:

- abstracts are mostly plain text, so characters that LaTeX treats specially
  but authors mean literally are protected first: a bare `%` (LaTeX would drop
  the rest of the line as a comment), `&`, `~`, and a `$` that is a price
  (`$800 and $900`) rather than the start of math (`$k$`);
- the Hugging Face page loses backslashes (`5times`, `kge3`, `rightarrow`,
  `mathcal{O}`); those artefacts get their backslash back before conversion.
  Only shapes that are never English are repaired: a number glued to `times`,
  a one-letter variable glued to a comparison and a number, macro names that
  are not words. "sometimes", "5 times" and "at times" stay as they are.

`latex_to_text` never raises: on anything pylatexenc cannot read, the text
comes back as it was (whitespace tidied).
"""
from __future__ import annotations

import functools
import logging
import re

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from papers.sentences import sentence_ends

logger = logging.getLogger(__name__)

# Anything pylatexenc would change, or an artefact we repair.
_NEEDS_WORK = re.compile(
    r"[\\$%{}&~^_]|\d(?:times|cdot)|rightarrow|leftarrow|Rightarrow|Leftarrow|mathcal|mathbb|mathbf|mathrm|"
    r"\b[a-z](?:geq|leq|neq|ge|le|gg|ll)\d| (?:gg|ll|geq|leq|neq|infty|circ|cdot|cdots|ldots) "
)

_ARTEFACTS: list[tuple[re.Pattern[str], str]] = [
    # "5times", "2.44times faster": a number glued to the multiplication sign.
    (re.compile(r"(?<=\d)(times|cdot)(?![A-Za-z])"), r"\\\1{}"),
    # "kge3", "nle10": a one-letter variable, a comparison and a number.
    (re.compile(r"(?<![A-Za-z\\])([a-z])(geq|leq|neq|ge|le|gg|ll)(?=\d)"), r"\1\\\2{}"),
    # Arrow macro names are never words.
    (re.compile(r"(?<![A-Za-z\\])((?:long)?(?:left|right|Left|Right|leftright|Leftright)arrow)(?![A-Za-z])"),
     r"\\\1{}"),
    # Macros with a braced argument: "mathcal{O}".
    (re.compile(r"(?<![A-Za-z\\])(mathcal|mathbb|mathbf|mathrm|mathit|textbf|textit|emph|frac|sqrt)(?=\{)"), r"\\\1"),
    # Operators standing alone between spaces: "m gg n".
    (re.compile(r"(?<= )(gg|ll|geq|leq|neq|infty|circ|cdot|cdots|ldots)(?= )"), r"\\\1{}"),
    # "\800": a lost dollar sign left a backslash before a number; keep the number.
    (re.compile(r"\\(?=\d)"), ""),
]

_BARE = re.compile(r"(?<!\\)([%&])")
_DOLLAR = re.compile(r"(?<!\\)\$")


def _restore_artefacts(text: str) -> str:
    for pattern, replacement in _ARTEFACTS:
        text = pattern.sub(replacement, text)
    return text


def _protect_dollars(text: str) -> str:
    """Escape the `$` signs that are prices, keep the ones that delimit math.

    A math span is tight: `$k$`, `$4\\times$`; a price is followed by text that
    runs to the next `$` with spaces at the edge (`$800 and $900`) or by none.
    """
    out: list[str] = []
    index = 0
    while True:
        match = _DOLLAR.search(text, index)
        if match is None:
            out.append(text[index:])
            return "".join(out)
        start = match.start()
        out.append(text[index:start])
        if text.startswith("$$", start):
            end = text.find("$$", start + 2)
            if end != -1 and text[start + 2:end].strip():
                out.append(text[start:end + 2])
                index = end + 2
                continue
            out.append(r"\$\$")
            index = start + 2
            continue
        closing = _DOLLAR.search(text, start + 1)
        if closing is not None:
            inner = text[start + 1:closing.start()]
            if inner and inner == inner.strip() and len(inner) <= 300:
                out.append(text[start:closing.end()])
                index = closing.end()
                continue
        out.append(r"\$")
        index = start + 1


def _converter() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    context.add_context_category(
        "abstract-shorthands",
        prepend=True,
        macros=[
            MacroTextSpec("eg", simplify_repl="e.g."),
            MacroTextSpec("ie", simplify_repl="i.e."),
            MacroTextSpec("etal", simplify_repl="et al."),
            MacroTextSpec("etc", simplify_repl="etc."),
            MacroTextSpec("vs", simplify_repl="vs."),
            # Plain letters read better than Unicode script/blackboard ones in an email.
            *(MacroTextSpec(name, simplify_repl="%s")
              for name in ("mathcal", "mathbb", "mathbf", "mathrm", "mathit", "mathsf")),
        ],
    )
    # based-on-source keeps the author's spaces ("a \rightarrow b" -> "a → b").
    return LatexNodes2Text(latex_context=context, math_mode="text", strict_latex_spaces="based-on-source")


_CONVERTER = _converter()


@functools.lru_cache(maxsize=8192)
def latex_to_text(text: str) -> str:
    """Readable text for a title or abstract that may hold LaTeX; never raises. The site, feeds and emails use it.

    Converted sentence by sentence (papers.sentences), where a sentence holds
    its own $...$ and {...}: a price's `$` in one sentence cannot pair with the
    next sentence's math ("from $5 to $3 per run. ... ($\\alpha = 0.5$)"), and only
    the sentences with LaTeX pay for pylatexenc (4 ms for a whole 500-character
    abstract, 0.6 ms this way). Cached whole as well: a page shows an abstract several times
    and a digest run converts each paper once per email.
    """
    pieces, start = [], 0
    for end in sentence_ends(text or ""):
        chunk = text[start:end]
        if chunk.count("$") % 2 == 0 and chunk.count("{") == chunk.count("}"):
            pieces.append(chunk)
            start = end
    pieces.append((text or "")[start:])
    return " ".join(filter(None, map(_convert, pieces)))


@functools.lru_cache(maxsize=8192)
def _convert(text: str) -> str:
    """One piece of text through pylatexenc (see the module docstring); never raises.

    Cached: the same abstracts are rendered for many pages and emails.
    """
    if not text:
        return ""
    if not _NEEDS_WORK.search(text):
        return " ".join(text.split())
    try:
        prepared = _restore_artefacts(text)
        prepared = _BARE.sub(r"\\\1", prepared).replace("~", r"\textasciitilde{}")
        prepared = _protect_dollars(prepared)
        converted = _CONVERTER.latex_to_text(prepared)
        if "%s" in converted and "%s" not in text:
            # A macro missing its arguments ("\\frac{" cut off) leaves its template behind.
            raise ValueError("unfilled macro template")
    except Exception:  # pylatexenc on hostile input: show the text as it came
        logger.info("latex_to_text: could not convert %.80r", text, exc_info=True)
        return " ".join(text.split())
    return " ".join(converted.replace("\xa0", " ").split())
