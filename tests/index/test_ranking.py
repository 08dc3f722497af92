"""The shared ranking rule: top_k is a stable full sort cut at k."""
from __future__ import annotations

import numpy as np

from minutes.index.ranking import top_k


def test_top_k_equals_a_stable_full_sort() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        scores = rng.integers(0, 4, n).astype(np.float32)  # many ties
        rows, k = np.arange(n) * 7, int(rng.integers(1, 90))
        order = np.argsort(-scores, kind="stable")[:k]
        got_rows, got_scores = top_k(scores, rows, k)
        assert got_rows.tolist() == rows[order].tolist() and got_scores.tolist() == scores[order].tolist()
