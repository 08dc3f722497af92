"""Sentence splitting for ROUGE-Lsum, without nltk's punkt (it cannot be downloaded offline).

ROUGE-Lsum treats newlines as sentence boundaries; QMSum papers score with one sentence per
line, so both sides are split before scoring. The rule: a sentence ends at `.`, `!` or `?`
(optionally followed by closing quotes or brackets) when whitespace and then an upper-case
letter, a digit or an opening quote follow, unless the word before the dot is a common
abbreviation ("Mr.", "e.g.") or a single initial ("J."). Existing line breaks are kept as
boundaries too. Lower-case continuations ("... 3.5 million. and then") are not split: meeting
answers are mostly well-formed prose, and a missed split costs less than a wrong one.
"""
from __future__ import annotations

import re

ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "cf",
    "approx", "dept", "fig", "vol", "inc", "ltd", "co", "corp", "hon", "gen", "gov", "sen",
    "rep", "min", "max", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec",
})

_BOUNDARY = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=["'(\[]?[A-Z0-9])""")
_LAST_WORD = re.compile(r"(\S+)$")


def _is_abbreviation(text_before: str) -> bool:
    match = _LAST_WORD.search(text_before)
    if not match or not match.group(1).endswith("."):
        return False
    word = match.group(1).rstrip(".").lstrip("\"'([").lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences (see the module docstring for the rule)."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        for match in _BOUNDARY.finditer(line):
            head = line[start:match.start()]
            if _is_abbreviation(line[:match.start()].rstrip("\"')]")):
                continue
            sentence = (head + line[match.start():match.end()]).strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
        tail = line[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def one_sentence_per_line(text: str) -> str:
    """The form ROUGE-Lsum expects: sentences joined by newlines."""
    return "\n".join(split_sentences(text))
