"""Retrieval metrics against QMSum's gold turn spans.

A hit covers the utterances utt_start..utt_end of its meeting. For one query with gold spans
(inclusive turn ranges) in meeting m, over the top-k hits:
  hit@k          1 if any gold utterance of m is covered
  recall@k       share of gold utterances covered (QMSum's "gold-utterance recall")
  span_touch@k   share of gold spans with at least one utterance covered
  budget@k       share of m's transcript (utterance weights, e.g. words) that the hits cover
  rr             1/rank of the first hit that covers a gold utterance (0 if none)
  ndcg@k         binary relevance (a hit overlapping gold), ideal = all relevant chunks of m first
Hits from other meetings cover nothing of m (they count against the corpus-wide setting).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

Span = Sequence[int]


def gold_utterances(spans: Iterable[Span]) -> set[int]:
    """The union of inclusive [start, end] spans."""
    out: set[int] = set()
    for span in spans:
        if len(span) != 2 or span[0] > span[1]:
            raise ValueError(f"a gold span is an inclusive [start, end] pair, got {list(span)!r}")
        out.update(range(int(span[0]), int(span[1]) + 1))
    return out


def _in_meeting(hits: Sequence[Mapping[str, Any]], meeting_id: str) -> list[Mapping[str, Any] | None]:
    return [h if h["meeting_id"] == meeting_id else None for h in hits]


def covered(hits: Sequence[Mapping[str, Any]], meeting_id: str, k: int) -> set[int]:
    """Utterances of `meeting_id` covered by the top-k hits."""
    out: set[int] = set()
    for h in _in_meeting(hits[:k], meeting_id):
        if h is not None:
            out.update(range(int(h["utt_start"]), int(h["utt_end"]) + 1))
    return out


def is_relevant(hit: Mapping[str, Any], meeting_id: str, gold: set[int]) -> bool:
    if hit["meeting_id"] != meeting_id:
        return False
    return any(u in gold for u in range(int(hit["utt_start"]), int(hit["utt_end"]) + 1))


def hit_at_k(hits: Sequence[Mapping[str, Any]], meeting_id: str, gold: set[int], k: int) -> float:
    return float(any(is_relevant(h, meeting_id, gold) for h in hits[:k]))


def recall_at_k(hits: Sequence[Mapping[str, Any]], meeting_id: str, gold: set[int], k: int) -> float:
    if not gold:
        raise ValueError("recall needs at least one gold utterance")
    return len(covered(hits, meeting_id, k) & gold) / len(gold)


def span_touch_at_k(hits: Sequence[Mapping[str, Any]], meeting_id: str, spans: Sequence[Span], k: int) -> float:
    if not spans:
        raise ValueError("span touch needs at least one gold span")
    cov = covered(hits, meeting_id, k)
    touched = sum(1 for s, e in spans if any(u in cov for u in range(int(s), int(e) + 1)))
    return touched / len(spans)


def budget_at_k(hits: Sequence[Mapping[str, Any]], meeting_id: str, weights: Sequence[float], k: int) -> float:
    """Share of the meeting's transcript covered; `weights[i]` is utterance i's size (words)."""
    total = float(sum(weights))
    if total <= 0:
        raise ValueError(f"meeting {meeting_id!r} has an empty transcript")
    return sum(weights[u] for u in covered(hits, meeting_id, k) if 0 <= u < len(weights)) / total


def reciprocal_rank(hits: Sequence[Mapping[str, Any]], meeting_id: str, gold: set[int]) -> float:
    for rank, h in enumerate(hits, start=1):
        if is_relevant(h, meeting_id, gold):
            return 1.0 / rank
    return 0.0


def ndcg_at_k(hits: Sequence[Mapping[str, Any]], meeting_id: str, gold: set[int], k: int,
              n_relevant: int) -> float:
    """nDCG with binary gains; `n_relevant` = chunks of the meeting that overlap the gold spans."""
    if n_relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, h in enumerate(hits[:k]) if is_relevant(h, meeting_id, gold))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(k, n_relevant)))
    return dcg / idcg


def query_metrics(hits: Sequence[Mapping[str, Any]], meeting_id: str, spans: Sequence[Span],
                  weights: Sequence[float], ks: Sequence[int], n_relevant: int,
                  ndcg_k: int = 10) -> dict[str, float]:
    """Every metric of one query at every k (keys like "recall@5")."""
    gold = gold_utterances(spans)
    out: dict[str, float] = {}
    for k in ks:
        out[f"hit@{k}"] = hit_at_k(hits, meeting_id, gold, k)
        out[f"recall@{k}"] = recall_at_k(hits, meeting_id, gold, k)
        out[f"span_touch@{k}"] = span_touch_at_k(hits, meeting_id, spans, k)
        out[f"budget@{k}"] = budget_at_k(hits, meeting_id, weights, k)
    out["mrr"] = reciprocal_rank(hits, meeting_id, gold)
    out[f"ndcg@{ndcg_k}"] = ndcg_at_k(hits, meeting_id, gold, ndcg_k, n_relevant)
    out["meeting@1"] = float(bool(hits) and hits[0]["meeting_id"] == meeting_id)
    return out
