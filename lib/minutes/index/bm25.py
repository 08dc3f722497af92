"""BM25 over the same chunks as the dense index (a bm25s sparse score matrix), and
reciprocal-rank fusion.

Okapi BM25 as rank-bm25's BM25Okapi computed it (the ranker 20_index measured before),
tokenized by `minutes.text.content_words` (documents and queries alike):

    score(q, d) = sum over query terms t (repeats count) of
                  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln((N - df(t) + 0.5) / (df(t) + 0.5)), and where that is negative (a term in
                  more than half the chunks) FLOOR x the mean idf over the vocabulary

bm25s precomputes every (document, term) score once, so a query costs the postings of its terms
(numpy over a CSC matrix) instead of a Python loop over every chunk. `top` ranks from those
postings alone: within a meeting only the postings in the meeting's rows (found by binary search:
a term's chunk rows are stored ascending), across the corpus only the chunks holding a query term.
A service reads the postings with pread from the saved arrays (`Postings`), so they stay in the
page cache instead of its resident memory. Its IDF variants either
clip the negative ones to 0 or use another formula, so we index with one whose IDF is always
positive (Lucene's) and rescale each term's column to the IDF above; bm25s also leaves out the
(k1 + 1) factor (no ranking changes), which `scores` multiplies back.
"""
from __future__ import annotations

import os
import sys
import weakref
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from minutes.index.page_cache import pread_exact
from minutes.text import content_words

if TYPE_CHECKING:
    import numpy as np

#: bm25s's variant we index with: Robertson's term frequency part, an IDF that is never 0.
BM25S_METHOD = "lucene"
#: rank-bm25's epsilon: negative IDFs become this share of the mean IDF.
FLOOR = 0.25
VARIANT = "okapi (rank-bm25 idf floor)"
#: What an empty chunk is indexed as: one token no query can produce, so its length is 1.
EMPTY = "\0empty"
TOKENIZER = "minutes.text.content_words"
IDS_FILE = "token_ids.npy"
OFFSETS_FILE = "token_offsets.npy"


def _bm25s() -> ModuleType:
    """bm25s, imported without numba: bm25s imports numba whenever it is installed (here for
    Whisper) although we use only its numpy scoring, and numba's LLVM costs a service ~60 MB.
    numba stays importable for whoever needs it afterwards."""
    if "bm25s" not in sys.modules and "numba" not in sys.modules:
        sys.modules["numba"] = None  # type: ignore[assignment]  # makes `import numba` fail
        try:
            import bm25s
        finally:
            del sys.modules["numba"]
    import bm25s

    return bm25s


class Postings:
    """The columns of the score matrix (per term: the rows of the chunks holding it, ascending,
    and their scores), in memory or read with pread from the .npy files bm25s saved.

    A mapped file counts in a process's RSS every page it touched (and the kernel maps up to
    64 KB around each touch): after a few hundred corpus-wide questions at 100k chunks that was
    the whole 62 MB. Read positionally, the bytes come from the page cache (the files are
    prefetched) and only a query's few postings are ever the service's memory."""

    def __init__(self, indptr: "np.ndarray", indices: "np.ndarray", data: "np.ndarray") -> None:
        import numpy as np

        self.indptr = np.asarray(indptr, dtype=np.int64)
        self._indices, self._data = indices, data
        self._files: dict[str, tuple[int, int, "np.dtype"]] = {}

    @classmethod
    def from_files(cls, indptr: "np.ndarray", indices: Path, data: Path) -> "Postings":
        import numpy as np

        self = cls(indptr, np.zeros(0, np.int32), np.zeros(0, np.float32))
        for name, path in (("indices", indices), ("data", data)):
            with open(path, "rb") as fh:
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(fh)
                if fortran or len(shape) != 1 or shape[0] != int(self.indptr[-1]):
                    raise ValueError(f"{path.name}: not the 1-d postings array its indptr describes")
                offset = fh.tell()
            fd = os.open(path, os.O_RDONLY)
            weakref.finalize(self, os.close, fd)
            self._files[name] = (fd, offset, np.dtype(dtype))
        return self

    def _read(self, name: str, a: int, z: int) -> "np.ndarray":
        import numpy as np

        if name not in self._files:
            return np.asarray((self._indices if name == "indices" else self._data)[a:z])
        fd, offset, dtype = self._files[name]
        return np.frombuffer(pread_exact(fd, (z - a) * dtype.itemsize, offset + a * dtype.itemsize), dtype=dtype)

    def term(self, t: int, lo: int | None = None, hi: int | None = None) -> tuple["np.ndarray", "np.ndarray"]:
        """Term `t`'s (rows, scores); with `lo`/`hi`, only rows in [lo, hi)."""
        import numpy as np

        a, z = int(self.indptr[t]), int(self.indptr[t + 1])
        rows = self._read("indices", a, z)
        if lo is not None:
            i, j = int(np.searchsorted(rows, lo, "left")), int(np.searchsorted(rows, hi, "left"))
            rows, a, z = rows[i:j], a + i, a + j
        return rows, self._read("data", a, z)


def _token_ids(texts: Iterable[str], vocab: dict[str, int]) -> list[list[int]]:
    """Each text's content words as ids, new words added to `vocab`: lists of shared ints
    instead of a string per word (100k chunks of QMSum hold millions of words)."""
    return [[vocab.setdefault(w, len(vocab)) for w in content_words(t) or [EMPTY]] for t in texts]


class Bm25:
    """BM25 over the content words of texts; `scores` for all or a subset of rows. Keeps each
    chunk's token ids (flat int32 + offsets), so `extended` tokenizes only added chunks."""

    def __init__(self, texts: Iterable[str], k1: float = 1.5, b: float = 0.75) -> None:
        vocab: dict[str, int] = {}
        self._index(_token_ids(texts, vocab), vocab, k1, b)

    def _index(self, docs: list[list[int]], vocab: dict[str, int], k1: float, b: float) -> None:
        import itertools

        import numpy as np

        bm25s = _bm25s()

        if not docs:
            raise ValueError("BM25 needs at least one chunk")
        self.model = bm25s.BM25(k1=k1, b=b, method=BM25S_METHOD)
        self.model.index((docs, vocab), show_progress=False)
        self.n = len(docs)
        self.offsets = np.cumsum([0] + [len(d) for d in docs], dtype=np.int64)
        self.ids = np.fromiter(itertools.chain.from_iterable(docs), dtype=np.int32, count=int(self.offsets[-1]))
        self._rescale_idf()
        s = self.model.scores
        self.postings = Postings(s["indptr"], s["indices"], s["data"])
        step = np.diff(np.asarray(s["indices"], dtype=np.int64))
        inside = np.ones(len(step), dtype=bool)
        cut = np.asarray(s["indptr"][1:-1], dtype=np.int64) - 1  # steps across a term boundary
        inside[cut[(cut >= 0) & (cut < len(step))]] = False
        if not (step[inside] > 0).all():
            raise RuntimeError("bm25s stored a term's chunk rows out of order; Bm25.top needs them ascending")

    def _rescale_idf(self) -> None:
        """Turn each term's column from bm25s's Lucene IDF into the Okapi IDF of the docstring."""
        import numpy as np

        s = self.model.scores
        df = np.diff(s["indptr"]).astype(np.float64)  # every stored entry is a chunk holding the term
        okapi = np.log(self.n - df + 0.5) - np.log(df + 0.5)
        okapi[okapi < 0] = FLOOR * okapi.mean() if len(okapi) else 0.0
        lucene = np.log1p((self.n - df + 0.5) / (df + 0.5))
        s["data"] = (s["data"] * np.repeat(okapi / lucene, np.diff(s["indptr"]))).astype(s["data"].dtype)

    def extended(self, texts: Iterable[str]) -> "Bm25":
        """A new BM25 over these chunks followed by `texts`: only the new texts are tokenized, but
        every score is recomputed (N, the IDFs and the mean length change with each chunk)."""
        vocab = {t: int(i) for t, i in self.model.vocab_dict.items() if t != ""}  # bm25s re-adds ""
        flat = self.ids.tolist()
        off = self.offsets.tolist()
        docs = [flat[a:z] for a, z in zip(off[:-1], off[1:])] + _token_ids(texts, vocab)
        out = Bm25.__new__(Bm25)
        out._index(docs, vocab, self.k1, self.b)
        return out

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = False) -> "Bm25":
        """The BM25 that `save` wrote into `folder` (token ids memory-mapped: only adds read them)."""
        import numpy as np

        bm25s = _bm25s()

        folder = Path(folder)
        self = cls.__new__(cls)
        self.model = bm25s.BM25.load(str(folder), mmap=mmap)
        s = self.model.scores
        if mmap:  # a query preads the postings of its terms: from the page cache, not the disk
            from minutes.index.page_cache import prefetch

            for arrays in folder.glob("*.csc.index.npy"):
                prefetch(arrays)
            self.postings = Postings.from_files(np.asarray(s["indptr"]), folder / "indices.csc.index.npy",
                                                folder / "data.csc.index.npy")
        else:
            self.postings = Postings(s["indptr"], s["indices"], s["data"])
        self.n = int(s["num_docs"])
        self.ids = np.load(folder / IDS_FILE, mmap_mode="r")
        self.offsets = np.load(folder / OFFSETS_FILE)
        if len(self.offsets) != self.n + 1 or int(self.offsets[-1]) != len(self.ids):
            raise ValueError("BM25 token ids do not match its score matrix")
        return self

    def save(self, folder: str | Path) -> None:
        """Write the score matrix, vocabulary, parameters and token ids into `folder` (created)."""
        import numpy as np

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(str(folder))
        np.save(folder / IDS_FILE, np.asarray(self.ids))
        np.save(folder / OFFSETS_FILE, self.offsets)

    @property
    def k1(self) -> float:
        return float(self.model.k1)

    @property
    def b(self) -> float:
        return float(self.model.b)

    def nbytes(self) -> int:
        """Bytes of the score matrix (what memory per chunk is made of, besides the vocabulary)."""
        s = self.model.scores
        return int(s["data"].nbytes + s["indices"].nbytes + s["indptr"].nbytes)

    def info(self) -> dict[str, Any]:
        """What the manifest records about this BM25 (enough to tell a stale one)."""
        return {"k1": self.k1, "b": self.b, "variant": VARIANT, "tokenizer": TOKENIZER, "n": self.n,
                "vocabulary": len(self.model.vocab_dict)}

    def _term_ids(self, query: str) -> list[int]:
        return [int(t) for t in self.model.get_tokens_ids(content_words(query))]

    def _summed(self, ids: list[int]) -> "np.ndarray":
        """Every row's sum of its stored scores for the terms `ids` (before the (k1 + 1) factor)."""
        import numpy as np

        full = np.zeros(self.n, np.float32)
        for t in ids:  # a term's rows are distinct: += adds each posting once
            at, score = self.postings.term(t)
            full[at] += score
        return full

    def scores(self, query: str, rows: "Sequence[int] | np.ndarray | None" = None) -> "np.ndarray":
        """Okapi BM25 of `query` for every row (or for `rows`, in their order), float32."""
        import numpy as np

        full = self._summed(self._term_ids(query)) * np.float32(self.k1 + 1)
        if rows is None:
            return full
        return full[np.asarray(rows, dtype=np.int64)]

    def top(self, query: str, k: int, rows: "np.ndarray | None" = None) -> tuple["np.ndarray", "np.ndarray"]:
        """The k best (rows, scores) among all rows or among `rows` (ascending), best first, ties
        in row order: what `top_k(scores(query, rows), rows, k)` gives, chunks no query term
        matched included (score 0) where fewer than k did, without scoring every row."""
        import numpy as np

        from minutes.index.ranking import top_k

        ids = self._term_ids(query)
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
            acc = np.zeros(len(rows), np.float32)
            if len(rows):
                lo, hi = int(rows[0]), int(rows[-1]) + 1
                for t in ids:
                    at, score = self.postings.term(t, lo, hi)
                    pos = np.searchsorted(rows, at)
                    hit = rows[np.minimum(pos, len(rows) - 1)] == at
                    acc[pos[hit]] += score[hit]
            return top_k(acc * np.float32(self.k1 + 1), rows, k)
        full = self._summed(ids)
        matched = np.flatnonzero(full)
        scored = full[matched] * np.float32(self.k1 + 1)
        if (scored < 0).any():  # a negative score ranks below unmatched chunks: rank them all
            return top_k(full * np.float32(self.k1 + 1), np.arange(self.n), k)
        best_rows, best = top_k(scored, matched, k)
        if len(best_rows) >= k or len(best_rows) == self.n:
            return best_rows, best
        taken = set(best_rows.tolist())
        pad = [r for r in range(min(self.n, k + len(taken))) if r not in taken][:k - len(best_rows)]
        return (np.concatenate([best_rows, np.asarray(pad, dtype=np.int64)]),
                np.concatenate([best, np.zeros(len(pad), np.float32)]))


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: score(d) = sum over rankings of 1 / (k + rank_d), rank from 1.
    Ties keep the order of first appearance."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])
