"""BM25 over chunks (rank-bm25) and reciprocal-rank fusion, on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from minutes.index.bm25 import Bm25, rrf

TEXTS = [
    "A: the remote control needs a bigger battery",
    "B: we discussed the budget for the marketing campaign",
    "C: {vocalsound} um yeah okay",
    "D: the battery of the remote was too small, battery life matters",
]


def test_tags_and_stopwords_do_not_match() -> None:
    bm = Bm25(TEXTS)
    assert not bm.scores("vocalsound um yeah okay").any()  # text C holds nothing else
    assert bm.scores("Battery's <laugh> LIFE").tolist() == pytest.approx(bm.scores("battery's life").tolist())


def test_bm25_ranks_term_overlap() -> None:
    bm = Bm25(TEXTS)
    scores = bm.scores("battery life")
    assert scores.shape == (4,)
    assert int(np.argmax(scores)) == 3
    assert scores[1] == 0.0 and scores[2] == 0.0


def test_bm25_scores_a_subset_in_the_given_order() -> None:
    bm = Bm25(TEXTS)
    full = bm.scores("remote battery")
    sub = bm.scores("remote battery", [3, 0])
    assert sub.tolist() == pytest.approx([full[3], full[0]])


def test_query_of_only_stopwords_scores_zero() -> None:
    bm = Bm25(TEXTS)
    assert not bm.scores("um the yeah").any()
    assert bm.scores("the", [1, 2]).tolist() == [0.0, 0.0]


def test_rrf_by_hand() -> None:
    # dense: 1, 2, 3; bm25: 3, 1.  score(1) = 1/61 + 1/62, score(3) = 1/63 + 1/61, score(2) = 1/62
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert [row for row, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_rrf_ties_keep_first_appearance() -> None:
    assert [r for r, _ in rrf([[5, 6], [6, 5]], k=60)] == [5, 6]
