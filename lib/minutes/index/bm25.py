"""BM25 (rank-bm25's Okapi) over the same chunks as the dense index, and reciprocal-rank fusion."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from minutes.text import content_words

if TYPE_CHECKING:
    import numpy as np


class Bm25:
    """BM25Okapi over the content words (minutes.text) of texts, queries tokenized alike;
    `scores` for all or a subset of rows."""

    def __init__(self, texts: Iterable[str], k1: float = 1.5, b: float = 0.75) -> None:
        from rank_bm25 import BM25Okapi

        docs = [content_words(t) or ["\0empty"] for t in texts]
        self.n = len(docs)
        self.model = BM25Okapi(docs, k1=k1, b=b)

    def scores(self, query: str, rows: "Sequence[int] | np.ndarray | None" = None) -> "np.ndarray":
        import numpy as np

        terms = content_words(query)
        if rows is None:
            return np.asarray(self.model.get_scores(terms), dtype=np.float32) if terms else np.zeros(self.n, np.float32)
        rows = list(map(int, rows))
        if not terms:
            return np.zeros(len(rows), np.float32)
        return np.asarray(self.model.get_batch_scores(terms, rows), dtype=np.float32)


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: score(d) = sum over rankings of 1 / (k + rank_d), rank from 1.
    Ties keep the order of first appearance."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])
