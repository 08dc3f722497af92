"""The extractive answerer: the best retrieved utterances, verbatim, trimmed to a word budget.

It is the baseline every generator must beat (40_evaluate) and the service's answer whenever no
model passes the gates, so it needs no model at all. Utterances are taken from the retrieved
chunks (one "Speaker: text" line each), scored by how many of the question's content words
they share (Porter-stemmed) plus a prior for the chunk's retrieval rank, picked best first until
the budget is spent, and returned in transcript order so the answer reads like the meeting.
Filler turns ("Okay.", "{vocalsound}") are skipped.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

from minutes.text import clean_text, content_words, trim_words, word_count

MIN_WORDS = 4


@dataclass(frozen=True)
class _Utterance:
    hit_rank: int
    order: tuple[str, int, int]  # (meeting_id, utterance idx or line, line) for transcript order
    speaker: str
    text: str
    words: int


_local = threading.local()
#: Lines whose cleaned text and stemmed terms are remembered: the service re-reads the lines of
#: chunks it retrieved before (follow-up questions on a meeting). 8192 lines are the chunks of
#: ~50 answers, ~5 MB; 32768 lines with their terms as frozensets had cost a service ~45 MB.
LINES_REMEMBERED = 1 << 13
#: clean_text remembered per line
_clean = lru_cache(maxsize=LINES_REMEMBERED)(clean_text)


def _stemmer() -> Any:
    """One per thread (a PyStemmer object is not thread-safe). Snowball's Porter stemmer in C:
    NLTK's, used before, loads scikit-learn and SciPy with its package init, a large part of
    a service's memory. The two differ only where NLTK adds its own extensions to Porter."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("porter")
    return stemmer


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """Porter stemming is the answerer's hot spot (4x of its time); words repeat, so cache them."""
    return _stemmer().stemWord(word)


@lru_cache(maxsize=1 << 12)
def content_terms(text: str) -> frozenset[str]:
    """Stemmed, lower-cased words of `text` without stopwords (cached: questions recur)."""
    return frozenset(_stem(w) for w in content_words(text) if len(w) > 1)


@lru_cache(maxsize=LINES_REMEMBERED)
def _line_terms(text: str) -> tuple[str, ...]:
    """`content_terms` of a transcript line, as a tuple: a service scores the same utterances for
    many questions (this was half of an extractive answer's time), and a tuple of the shared stem
    strings is a sixth of a frozenset's memory."""
    return tuple({_stem(w) for w in content_words(text) if len(w) > 1})


def _utterances(hit: Mapping[str, Any], rank: int) -> list[_Utterance]:
    lines = [line for line in str(hit.get("text", "")).splitlines() if line.strip()]
    start, end = hit.get("utt_start"), hit.get("utt_end")
    aligned = isinstance(start, int) and isinstance(end, int) and end - start + 1 == len(lines)
    out = []
    for i, line in enumerate(lines):
        speaker, sep, text = line.partition(":")
        if not sep or len(speaker) > 60:
            speaker, text = "", line
        text = _clean(text)
        n = word_count(text)
        if n < MIN_WORDS:
            continue
        idx = start + i if aligned else 10**6 * (rank + 1) + i
        out.append(_Utterance(rank, (str(hit.get("meeting_id", "")), idx, i), speaker.strip(), text, n))
    return out


@dataclass(frozen=True)
class Quote:
    """What an answer quotes from one hit: its longest quoted line, and that line's turn index in
    the meeting when the chunk's lines are its turns one to one (None otherwise)."""

    idx: int | None
    text: str


def extractive_answer(question: str, hits: Sequence[Mapping[str, Any]], max_words: int,
                      ) -> tuple[str, list[Mapping[str, Any]]]:
    """Answer `question` with utterances from `hits` (schema.Hit, best first).

    Returns the answer ("Speaker: text" lines in transcript order, at most `max_words` words
    of utterance text) and the hits it quotes, in rank order. No usable hit gives ("", []).
    """
    answer, cited, _ = extractive_quotes(question, hits, max_words)
    return answer, cited


def extractive_quotes(question: str, hits: Sequence[Mapping[str, Any]], max_words: int,
                      ) -> tuple[str, list[Mapping[str, Any]], list[Quote]]:
    """`extractive_answer` and, per cited hit, the `Quote` a citation can point at without
    searching the hit's turns again (the service's hot path)."""
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    asked = content_terms(question)
    seen: set[tuple[str, int]] = set()
    scored: list[tuple[float, _Utterance]] = []
    for rank, hit in enumerate(hits):
        for utt in _utterances(hit, rank):
            key = (utt.order[0], utt.order[1]) if utt.order[1] < 10**6 else (utt.order[0], hash(utt.text))
            if key in seen:  # overlapping chunks repeat utterances
                continue
            seen.add(key)
            overlap = sum(1 for term in _line_terms(utt.text) if term in asked)
            score = overlap / math.sqrt(len(asked) or 1) + 0.5 / (rank + 1) + 0.01 * min(utt.words, 30) / 30
            scored.append((score, utt))
    scored.sort(key=lambda su: (-su[0], su[1].hit_rank, su[1].order))
    picked: list[_Utterance] = []
    budget = max_words
    for _, utt in scored:
        if budget <= 0 or (picked and budget < MIN_WORDS):
            break
        picked.append(utt)
        budget -= utt.words
    if not picked:
        return "", [], []
    picked.sort(key=lambda u: u.order)
    lines, left = [], max_words
    for utt in picked:
        if left <= 0:
            break
        text = trim_words(utt.text, left, " ...")
        left -= utt.words
        lines.append(f"{utt.speaker}: {text}" if utt.speaker else text)
    longest: dict[int, _Utterance] = {}
    for utt in picked:
        if utt.hit_rank not in longest or utt.words > longest[utt.hit_rank].words:
            longest[utt.hit_rank] = utt
    ranks = sorted(longest)
    quotes = [Quote(u.order[1] if u.order[1] < 10**6 else None, u.text) for u in (longest[r] for r in ranks)]
    return "\n".join(lines), [hits[r] for r in ranks], quotes
