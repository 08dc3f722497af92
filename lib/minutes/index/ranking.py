"""The one ranking rule every retriever path shares (its own module: the retriever and BM25 both
rank, and BM25 may not import the retriever)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def top_k(scores: "np.ndarray", rows: "np.ndarray", k: int) -> tuple["np.ndarray", "np.ndarray"]:
    """The k best (rows, scores), best first; ties broken by position (stable), which is row
    order where `rows` ascend. Partitions first, so a corpus-wide ranking of 100k chunks sorts
    only those tied with the k-th best."""
    import numpy as np

    if 0 < k < len(scores):
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        cand = np.flatnonzero(scores >= kth)  # position order, ties with the k-th included
        order = cand[np.argsort(-scores[cand], kind="stable")[:k]]
    else:
        order = np.argsort(-scores, kind="stable")[:k]
    return rows[order], scores[order]
