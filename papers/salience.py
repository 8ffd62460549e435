"""Where in an abstract a term is not what the paper is about.

Two kinds of place, found by the wording around them (docs/matching.md, "Salience"):

- an availability line: "Code is available at https://…", "Our code and models will be
  publicly released." — the word is about the release, not the topic;
- a background list: what follows "such as", "e.g.", "including", "for example", up to
  the end of the list ("…tasks such as question answering, summarization and
  translation") — the paper names the topic as one example among others.

A hit in such a place does not count: it adds nothing to the score, and a paper whose
only hits are there does not match. A title hit always counts.
"""
from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?](?!\s+[A-Z(])[^.!?]*)*[.!?]?")
_URL = re.compile(r"https?\s*:|github\.com|\bwww\.|\.github\.io|\bbit\.ly/", re.IGNORECASE)
# "Our code and models will be publicly released": the artifact, early in the sentence
# (within its first words), then its release.
_RELEASED = re.compile(
    r"^\W*(?:\S+\s+){0,7}?(?:code|codes|source|implementation|models?|weights|checkpoints?|data|datasets?|benchmark|toolkit|"
    r"demo|software|library|resources|scripts?|project)\b[^.;]{0,80}?"
    r"\b(?:available|released?|open[- ]?sourced?|publicly|public)\b",
    re.IGNORECASE,
)
# "like" lists examples only after a plural noun ("generative models like GANs"), not in
# "behaves like X and Y".
_CUE = re.compile(
    r"\b(?:such as|e\.\s?g\.?,?|including|for example,?|for instance,?|(?<=s\s)like)(?=\s)", re.IGNORECASE
)
# "We improve low-rank methods such as LoRA and DoRA": the list is the paper's own subject.
_OWN_SUBJECT = re.compile(
    r"\b(?:we|our (?:work|method|approach|paper))\s+(?:\w+\s+){0,2}?"
    r"(?:improve|extend|study|studies|propose|revisit|generali[sz]e|unify|analy[sz]e|compare|benchmark|accelerate|"
    r"compress|combine|investigate|evaluate|fine-tune|adapt)\w*\b[^;:]*$",
    re.IGNORECASE,
)
# A list of examples is noun phrases; a verb, a pronoun or a preposition that starts a
# new clause ends it, and so do the end of the sentence, a semicolon or a colon.
_LIST_END = re.compile(
    r"[;:!?]|\.(?=\s|$)|(?<![\w-])(?:we|our|which|that|who|is|are|was|were|has|have|had|can|could|will|would|"
    r"may|might|to|by|with|from|into|via|through|using|while|where|when|since|because|but|although|"
    r"it|they|this|these|show|shows|achieve|achieves|outperform|outperforms|on|in|for|at|across|over)(?![\w-])",
    re.IGNORECASE,
)
_OWN_RESULTS = re.compile(
    r"\b(?:achiev\w*|outperform\w*|evaluat\w*|experiments?|benchmarks|surpass\w*|results on|performance on)\b",
    re.IGNORECASE,
)
# A list of several: "X, Y and Z", "X or Y", "X/Y", "etc."
_SEVERAL = re.compile(r",\s*\S|\s(?:and|or)\s|/|\betc\b")
_AVAILABILITY_WORDS = 25  # "Code and pre-trained models are available at …" is short


def quiet_ranges(text: str) -> list[tuple[int, int]]:
    """(start, end) character ranges of availability lines and background lists."""
    ranges = []
    if not text:
        return ranges
    for sentence in _SENTENCE.finditer(text):
        body = sentence.group()
        if _URL.search(body) or (len(body.split()) <= _AVAILABILITY_WORDS and _RELEASED.search(body)):
            ranges.append((sentence.start(), sentence.end()))
            continue
        for cue in _CUE.finditer(body):
            start = cue.end()
            opened = body.rfind("(", 0, cue.start()) > body.rfind(")", 0, cue.start())
            stop = body.find(")", start) if opened else -1
            end = _LIST_END.search(body, start)
            stops = [p for p in (stop, end.start() if end else -1) if p >= 0]
            stop = min(stops) if stops else len(body)
            if _OWN_SUBJECT.search(body[: cue.start()]):
                continue  # the paper works on the listed methods themselves
            if _OWN_RESULTS.search(body, 0, cue.start()):
                continue  # "achieves ... on benchmarks including X, Y and Z": the paper's own tests
            if _SEVERAL.search(body, start, stop):  # "e.g., CLIP" names the one the paper uses
                ranges.append((sentence.start() + start, sentence.start() + stop))
    return ranges
