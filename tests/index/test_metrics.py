"""Retrieval metrics on hand-made rankings, each figure worked out by hand."""
from __future__ import annotations

import math

import pytest

from minutes.index import metrics


def hit(meeting: str, start: int, end: int) -> dict:
    return {"meeting_id": meeting, "utt_start": start, "utt_end": end}


# Meeting "m" has 10 utterances of 10 words each; gold spans [2, 3] and [8, 8] (3 utterances).
SPANS = [[2, 3], [8, 8]]
GOLD = {2, 3, 8}
WEIGHTS = [10.0] * 10
RANKING = [hit("m", 0, 1), hit("other", 2, 3), hit("m", 3, 5), hit("m", 8, 9)]


def test_gold_utterances_is_the_union_of_inclusive_spans() -> None:
    assert metrics.gold_utterances([[2, 3], [3, 5], [9, 9]]) == {2, 3, 4, 5, 9}


@pytest.mark.parametrize("bad", [[3, 2], [1], [1, 2, 3]])
def test_malformed_span_is_refused(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="inclusive"):
        metrics.gold_utterances([bad])


def test_hit_at_k_ignores_other_meetings() -> None:
    assert metrics.hit_at_k(RANKING, "m", GOLD, 1) == 0.0
    assert metrics.hit_at_k(RANKING, "m", GOLD, 2) == 0.0  # "other" covers 2-3 of another meeting
    assert metrics.hit_at_k(RANKING, "m", GOLD, 3) == 1.0


def test_recall_counts_gold_utterances_covered() -> None:
    assert metrics.recall_at_k(RANKING, "m", GOLD, 2) == 0.0
    assert metrics.recall_at_k(RANKING, "m", GOLD, 3) == pytest.approx(1 / 3)  # utterance 3
    assert metrics.recall_at_k(RANKING, "m", GOLD, 4) == pytest.approx(2 / 3)  # + utterance 8
    with pytest.raises(ValueError):
        metrics.recall_at_k(RANKING, "m", set(), 4)


def test_span_touch() -> None:
    assert metrics.span_touch_at_k(RANKING, "m", SPANS, 3) == 0.5
    assert metrics.span_touch_at_k(RANKING, "m", SPANS, 4) == 1.0


def test_budget_is_the_share_of_words_covered() -> None:
    assert metrics.budget_at_k(RANKING, "m", WEIGHTS, 1) == pytest.approx(0.2)
    assert metrics.budget_at_k(RANKING, "m", WEIGHTS, 3) == pytest.approx(0.5)  # 0-1, 3-5
    assert metrics.budget_at_k(RANKING, "m", WEIGHTS, 4) == pytest.approx(0.7)
    # Overlapping hits count each utterance once.
    assert metrics.budget_at_k([hit("m", 0, 4), hit("m", 2, 6)], "m", WEIGHTS, 2) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="empty transcript"):
        metrics.budget_at_k(RANKING, "m", [0.0, 0.0], 1)


def test_reciprocal_rank() -> None:
    assert metrics.reciprocal_rank(RANKING, "m", GOLD) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank([hit("m", 0, 0)], "m", GOLD) == 0.0


def test_ndcg_with_binary_gains() -> None:
    # Relevant at ranks 3 and 4; two relevant chunks exist, so the ideal puts them at 1 and 2.
    dcg = 1 / math.log2(4) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert metrics.ndcg_at_k(RANKING, "m", GOLD, 10, n_relevant=2) == pytest.approx(dcg / idcg)
    perfect = [hit("m", 2, 2), hit("m", 8, 8), hit("m", 0, 0)]
    assert metrics.ndcg_at_k(perfect, "m", GOLD, 10, n_relevant=2) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(RANKING, "m", GOLD, 10, n_relevant=0) == 0.0


def test_query_metrics_keys_and_meeting_at_1() -> None:
    out = metrics.query_metrics(RANKING, "m", SPANS, WEIGHTS, ks=[1, 4], n_relevant=2)
    assert set(out) == {"hit@1", "recall@1", "span_touch@1", "budget@1", "hit@4", "recall@4",
                        "span_touch@4", "budget@4", "mrr", "ndcg@10", "meeting@1"}
    assert out["meeting@1"] == 1.0 and out["recall@4"] == pytest.approx(2 / 3)
    wrong_first = metrics.query_metrics(RANKING[1:], "m", SPANS, WEIGHTS, ks=[1], n_relevant=2)
    assert wrong_first["meeting@1"] == 0.0
