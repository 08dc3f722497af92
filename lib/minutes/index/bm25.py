"""BM25 (rank-bm25's Okapi) over the same chunks as the dense index, and reciprocal-rank fusion."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_TAG = re.compile(r"\{[a-z_]+\}")  # QMSum disfluency tags such as {vocalsound}
# Function words and meeting fillers: they carry no topic and swamp BM25's term overlap.
STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me more most my no
nor not now of off on once only or other our ours out over own same she should so some such than
that the their them then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yeah okay ok um uh
mm hmm mean like know gonna think well right oh yes so just actually really s t don
""".split())


def tokenize(text: str) -> list[str]:
    """Lower-case words without tags and stopwords (queries and chunks alike)."""
    return [w for w in _WORD.findall(_TAG.sub(" ", text.lower())) if w not in STOPWORDS]


class Bm25:
    """BM25Okapi over tokenized texts; `scores` for all or a subset of rows."""

    def __init__(self, texts: Iterable[str], k1: float = 1.5, b: float = 0.75) -> None:
        from rank_bm25 import BM25Okapi

        docs = [tokenize(t) or ["\0empty"] for t in texts]
        self.n = len(docs)
        self.model = BM25Okapi(docs, k1=k1, b=b)

    def scores(self, query: str, rows: "Sequence[int] | np.ndarray | None" = None) -> "np.ndarray":
        import numpy as np

        terms = tokenize(query)
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
