"""Which utterances support each sentence of a generated text, and how grounded the text is.

A generative answer used to cite the top retrieved chunks whatever the model wrote. Here each
sentence is matched to the utterances it rests on by content-word overlap (Porter-stemmed, so
"decided" meets "decision" halfway): the support of a sentence is the share of its content words
that one utterance, or the union of the best two, contains. A sentence with support of at least
`threshold` is grounded and cites those utterances; groundedness is the share of grounded
sentences. Overlap rather than embeddings: it is exact, explainable ("these words came from
there"), costs microseconds, and a model that copies words from the wrong meeting scores zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from minutes.evaluate.sentences import split_sentences
from minutes.answer.extractive import content_terms

#: Share of a sentence's content words an utterance must hold to support it.
SUPPORT_THRESHOLD = 0.5
#: A sentence may rest on at most this many utterances (an answer joins what two people said).
MAX_SUPPORT = 2


def stems(text: str) -> frozenset[str]:
    """Stemmed content words of `text` (the unit of support): the extractive answerer's rule."""
    return content_terms(text)


@dataclass
class SentenceSupport:
    sentence: str
    support: float
    utterances: list[int]  # positions in the candidate list, best first

    @property
    def grounded(self) -> bool:
        return self.support >= SUPPORT_THRESHOLD


@dataclass
class Attribution:
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def groundedness(self) -> float | None:
        """Share of sentences with a supporting utterance (None for an empty text)."""
        if not self.sentences:
            return None
        return sum(s.grounded for s in self.sentences) / len(self.sentences)

    def cited(self) -> list[int]:
        """Candidate positions that support some grounded sentence, in the order the text uses them."""
        out: list[int] = []
        for s in self.sentences:
            if s.grounded:
                out += [i for i in s.utterances if i not in out]
        return out


def attribute(text: str, utterances: Sequence[Mapping[str, Any]], threshold: float = SUPPORT_THRESHOLD) -> Attribution:
    """Support of each sentence of `text` by `utterances` (dicts with a "text")."""
    bags = [stems(str(u.get("text", ""))) for u in utterances]
    out = Attribution()
    for sentence in split_sentences(text):
        words = stems(sentence)
        if not words:
            continue
        picked: list[int] = []
        covered: set[str] = set()
        while len(picked) < MAX_SUPPORT and covered != words:  # greedy cover, best utterance first
            gains = [(len((words & bag) - covered), -i) for i, bag in enumerate(bags) if i not in picked]
            best_gain, neg_i = max(gains, default=(0, 0))
            if best_gain == 0:
                break
            picked.append(-neg_i)
            covered |= words & bags[-neg_i]
        support = len(covered) / len(words)
        out.sentences.append(SentenceSupport(sentence, round(support, 3), picked))
    return out


def hit_utterances(hits: Sequence[Mapping[str, Any]], span_of: Any) -> list[dict[str, Any]]:
    """The utterances a list of retrieved chunks spans, in hit order
    (`span_of(meeting_id, utt_start, utt_end)`: the utterances of that turn range)."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        for u in span_of(hit["meeting_id"], int(hit["utt_start"]), int(hit["utt_end"])):
            key = (hit["meeting_id"], int(u["idx"]))
            if hit["utt_start"] <= u["idx"] <= hit["utt_end"] and key not in seen:
                seen.add(key)
                out.append({**u, "meeting_id": hit["meeting_id"], "chunk_id": hit["chunk_id"],
                            "score": float(hit.get("score", 0.0))})
    return out


def hit_lines(hits: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The speaker lines of retrieved chunks (what a prompt showed), when no corpus is at hand."""
    return [{"text": line, "chunk_id": h.get("chunk_id")} for h in hits
            for line in str(h.get("text", "")).split("\n") if line.strip()]


def groundedness(text: str, hits: Sequence[Mapping[str, Any]]) -> float | None:
    """Groundedness of `text` against the chunks it was written from."""
    return attribute(text, hit_lines(hits)).groundedness
