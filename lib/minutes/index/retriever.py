"""The retrieval API that training, evaluation and the service share.

    r = Retriever.open(params)
    r.search("what did they decide about the budget?", k=10, meeting_id="ES2004a")
    r.search_many(queries, k=10, meeting_ids=[...], method="hybrid")
    r.search(query, method="auto")    # what 20_index measured best: "within" with a meeting, else "corpus"
    r.add_chunks(new_chunks)          # new meetings: only their chunks are embedded
    r.meetings()                      # ids with domain, split, speakers, length

Readers work on an immutable snapshot; `add_chunks` builds the next snapshot beside it, writes
it to disk as a new version and swaps one reference, so concurrent searches in the process
never see a half-added meeting and never wait for the embedding of new chunks. The BM25 score
matrix is part of a version: built with it, loaded with it, rebuilt over all chunks by an add
(IDF and the mean length change with every chunk, so every score does).
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from minutes import schema
from minutes.index import chunks as chunk_table
from minutes.index import faiss_index, store
from minutes.index.arrow_numpy import column_numpy, dictionary_codes
from minutes.index.arrow_pread import PreadColumn
from minutes.index.bm25 import Bm25, rrf
from minutes.index.embed import Embedder, embedder_for
from minutes.index.ranking import top_k

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from minutes.config import Params

log = logging.getLogger(__name__)

Method = Literal["auto", "dense", "bm25", "hybrid"]
#: The rankers (what 20_index measures); "auto" picks one of them per search from the manifest.
METHODS: tuple[str, ...] = ("dense", "bm25", "hybrid")
#: Where a search runs: within the meeting a request names, or across the corpus.
SETTINGS: tuple[str, ...] = ("within", "corpus")
#: "auto" on an index no evaluation has annotated (store.BEST_METHODS missing).
AUTO_FALLBACK = "dense"
#: Query vectors remembered per Retriever (cleared when full).
QUERY_CACHE_SIZE = 4096


class UnknownMeeting(LookupError):
    """A meeting_id filter names a meeting that is not in the index."""


def _groups(column: Any) -> dict[str, "np.ndarray"]:
    """Row numbers per distinct value of an Arrow string column, in row order."""
    import numpy as np

    codes, uniques = dictionary_codes(column)  # not pandas.factorize: the service need not import pandas
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {str(u): order[bounds[i]:bounds[i + 1]].astype(np.int64) for i, u in enumerate(uniques)}


class _View:
    """A snapshot plus what searches derive from it (row groups, BM25), built once per version.
    It reads the Arrow chunk table only: hits are taken row by row, never via pandas."""

    def __init__(self, snap: store.Snapshot, bm25_k1: float, bm25_b: float) -> None:
        self.snap = snap
        self.table = snap.table.select([c for c in chunk_table.HIT_COLUMNS if c in snap.table.column_names])
        self._columns = [(name, self.table.column(name)) for name in self.table.column_names]
        if snap.table_file is not None and "text" in self.table.column_names:  # mapped: text by pread
            self._columns = [(name, PreadColumn(snap.table_file, col, name) if name == "text" else col)
                             for name, col in self._columns]
        self.n = len(snap)
        held = faiss_index.stored_vectors(snap.index)
        #: what exact (filtered) scoring reads: the index's own vectors when it holds them
        self.exact_vectors = held if held is not None and len(held) == self.n else snap.vectors
        self.by_meeting = _groups(self.table.column("meeting_id"))
        self.by_domain = _groups(self.table.column("domain"))
        stored = snap.bm25
        fits = stored is not None and stored.n == self.n and (stored.k1, stored.b) == (bm25_k1, bm25_b)
        self._bm25: Bm25 | None = stored if fits else None
        self._bm25_args = (bm25_k1, bm25_b)
        self._lock = threading.Lock()

    @property
    def bm25(self) -> Bm25:
        with self._lock:
            if self._bm25 is None:  # an older version, or k1/b other than what was stored
                self._bm25 = Bm25(self.table.column("text").to_pylist(), *self._bm25_args)
            return self._bm25

    def rows(self, meeting_id: str | None, domain: str | None) -> "np.ndarray | None":
        import numpy as np

        if meeting_id is None and domain is None:
            return None
        if meeting_id is not None:
            if meeting_id not in self.by_meeting:
                raise UnknownMeeting(f"meeting {meeting_id!r} is not in the index "
                                     f"({len(self.by_meeting)} meetings; see Retriever.meetings())")
            rows = self.by_meeting[meeting_id]
            if domain is not None:
                rows = np.intersect1d(rows, self.by_domain.get(domain, np.zeros(0, np.int64)))
            return rows
        return self.by_domain.get(domain, np.zeros(0, dtype=np.int64))

    def hits(self, rows: "np.ndarray", scores: "np.ndarray") -> list[schema.Hit]:
        """The chunks at `rows` as Hits, ranked in the order given. Cell by cell: for the ten
        rows of a search that is ~3x faster than an Arrow `take` over a mapped table."""
        out = []
        for rank, (row, score) in enumerate(zip(rows, scores), 1):
            r = int(row)
            rec = {name: col[r] if isinstance(col, PreadColumn) else col[r].as_py() for name, col in self._columns}
            rec["speakers"] = [str(x) for x in rec["speakers"] or []]
            rec.update(utt_start=int(rec["utt_start"]), utt_end=int(rec["utt_end"]), start=float(rec["start"]),
                       end=float(rec["end"]), score=float(score), rank=rank)
            out.append(rec)
        return out  # type: ignore[return-value]


def _append(base: "pa.Table", new: "pd.DataFrame") -> "pa.Table":
    """`new` chunk rows appended to an Arrow chunk table, cast to its schema (a column the base
    lacks is dropped; one `new` lacks is null)."""
    import pyarrow as pa

    added = store.to_arrow(new)
    columns = [added.column(f.name).cast(f.type) if f.name in added.column_names
               else pa.nulls(len(added), f.type) for f in base.schema]
    return pa.concat_tables([base, pa.Table.from_arrays(columns, schema=base.schema)]).combine_chunks()


def setting_of(meeting_id: str | None) -> str:
    """The evaluation setting a search belongs to: "within" a named meeting, else "corpus"."""
    return "corpus" if meeting_id is None else "within"




class Retriever:
    """Dense (FAISS), BM25 and hybrid search over one index version, with incremental adds."""

    def __init__(self, params: "Params", snap: store.Snapshot, embedder: Embedder | None = None) -> None:
        self.params = params
        self.p = params.index
        self.stage_dir = params.stage_dir("index")
        self._view = _View(snap, self.p.bm25_k1, self.p.bm25_b)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._query_cache: dict[str, "np.ndarray"] = {}
        faiss_index.set_search_threads(self.p)
        if embedder is not None:
            self._check_model(embedder)

    # ---- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, params: "Params", embedder: Embedder | None = None, mmap: bool = False) -> "Retriever":
        """Open the CURRENT index of the profile; refuses an index made for another model/kind.
        `mmap`: map vectors, chunk table and BM25 instead of reading them (the service)."""
        snap = store.read_current(params.stage_dir("index"), mmap=mmap)
        cls._check_params(params, snap.meta, snap.version)
        faiss_index.configure_search(snap.index, params.index)
        return cls(params, snap, embedder)

    @staticmethod
    def _check_params(params: "Params", meta: dict[str, Any], version: str) -> None:
        p = params.index
        wants = {"embedding_model": p.embedding_model, "kind": p.kind}
        if p.max_seq_length:
            wants["max_seq_length"] = p.max_seq_length
        diff = {k: (meta.get(k), v) for k, v in wants.items() if meta.get(k) != v}
        if diff:
            def shown(key: str, value: Any) -> str:
                return repr(store.model_label(value) if key == "embedding_model" else value)

            said = "; ".join(f"{k}: index has {shown(k, a)}, params ask for {shown(k, b)}"
                             for k, (a, b) in diff.items())
            log.error("index %s in %s was built for other parameters: %s", version, params.stage_dir("index"), diff)
            raise store.IndexMismatch(
                f"index {version} was built for other parameters ({said}). "
                "Queries embedded with another model would be compared against the wrong vectors; "
                "rebuild it with build_index(params, force=True) (notebook 20_index).")

    def _check_model(self, embedder: Embedder) -> None:
        meta = self._view.snap.meta
        have = {"fingerprint": meta.get("model_fingerprint"), "dim": meta.get("dim"),
                "max_seq_length": meta.get("max_seq_length")}
        if embedder.info.key != have:
            log.error("index %s in %s: built with %s %s, query embedder %s %s", self._view.snap.version,
                      self.params.stage_dir("index"), meta.get("embedding_source"), have, embedder.info.source,
                      embedder.info.key)
            raise store.IndexMismatch(
                f"index {self._view.snap.version} was built with model "
                f"{store.model_label(meta.get('embedding_source'))} {have}, but the query embedder is "
                f"{store.model_label(embedder.info.source)} {embedder.info.key}; "
                "rebuild the index with this model (build_index(params, force=True)).")

    @property
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                emb = embedder_for(self.params)
                self._check_model(emb)
                self._embedder = emb
            return self._embedder

    # ---- reading ------------------------------------------------------------------------
    @property
    def manifest(self) -> dict[str, Any]:
        return self._view.snap.meta

    @property
    def version(self) -> str:
        return self._view.snap.version

    @property
    def snapshot(self) -> store.Snapshot:
        """The index version this retriever reads (to open another retriever on the same vectors)."""
        return self._view.snap

    def __len__(self) -> int:
        return self._view.n

    def chunks(self) -> "pd.DataFrame":
        """The indexed chunk table (row i = FAISS id i), as pandas (built on first call; the
        service never calls it: see `meeting_chunks`)."""
        return self._view.snap.chunks

    def meeting_ids(self) -> list[str]:
        """The ids of the indexed meetings, sorted."""
        return sorted(self._view.by_meeting)

    def meeting_chunks(self, meeting_id: str) -> list[dict[str, Any]]:
        """One meeting's chunk records in index order (without reading the whole table)."""
        view = self._view
        if meeting_id not in view.by_meeting:
            raise UnknownMeeting(f"meeting {meeting_id!r} is not in the index")
        return view.snap.table.take(view.by_meeting[meeting_id]).to_pylist()

    def vectors(self) -> "np.ndarray":
        """The stored chunk vectors (row i = chunk i), unit length."""
        return self._view.snap.vectors

    def meetings(self) -> list[dict[str, Any]]:
        """One row per indexed meeting: id, domain, split, chunks, utterances, speakers, duration."""
        import numpy as np

        view = self._view
        table = view.snap.table
        domain, split = column_numpy(table.column("domain")), column_numpy(table.column("split"))
        utt_end, end = column_numpy(table.column("utt_end")), column_numpy(table.column("end"))
        out = []
        for mid in sorted(view.by_meeting):
            rows = view.by_meeting[mid]
            speakers = sorted({str(x) for ss in table.column("speakers").take(rows).to_pylist() for x in ss or []})
            out.append({"meeting_id": mid, "domain": str(domain[rows[0]]), "split": str(split[rows[0]]),
                        "chunks": int(len(rows)), "utterances": int(np.max(utt_end[rows])) + 1,
                        "speakers": speakers, "duration_s": float(np.max(end[rows]))})
        return out

    def best_method(self, setting: str) -> str:
        """The method `auto` uses for `setting`: the one 20_index measured best on this index
        (store.BEST_METHODS in the manifest), else AUTO_FALLBACK."""
        if setting not in SETTINGS:
            raise ValueError(f"setting {setting!r} is not one of {SETTINGS}")
        best = (self._view.snap.meta.get(store.BEST_METHODS) or {}).get(setting)
        if best in METHODS:
            return str(best)
        if best is not None:
            log.warning("index %s names an unknown best method %r for %s; using %s",
                        self.version, best, setting, AUTO_FALLBACK)
        return AUTO_FALLBACK

    def search(self, query: str, k: int = 10, meeting_id: str | None = None, domain: str | None = None,
               method: Method = "dense") -> list[schema.Hit]:
        """The k best chunks for `query`, best first, optionally within one meeting and/or domain."""
        return self.search_many([query], k, [meeting_id], domain, method)[0]

    def search_many(self, queries: Sequence[str], k: int = 10,
                    meeting_ids: Sequence[str | None] | str | None = None, domain: str | None = None,
                    method: Method = "dense", progress: bool = False) -> list[list[schema.Hit]]:
        """Batched search: queries are embedded together. `meeting_ids` is one id for all
        queries or one per query (None = whole corpus). `method="auto"` searches each query
        with `best_method` of its setting."""
        import numpy as np
        from tqdm.auto import tqdm

        if method != "auto" and method not in METHODS:
            raise ValueError(f"method {method!r} is not one of {('auto', *METHODS)}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        queries = [str(q) for q in queries]
        if meeting_ids is None or isinstance(meeting_ids, str):
            meeting_ids = [meeting_ids] * len(queries)
        if len(meeting_ids) != len(queries):
            raise ValueError(f"{len(meeting_ids)} meeting ids for {len(queries)} queries")
        if method == "auto":
            return self._search_auto(queries, k, list(meeting_ids), domain, progress)
        view = self._view  # one snapshot for the whole batch
        row_sets = [view.rows(m, domain) for m in meeting_ids]
        depth = max(k, self.p.hybrid_candidates) if method == "hybrid" else k
        dense: list[tuple[np.ndarray, np.ndarray]] = []
        if method in ("dense", "hybrid"):
            qv = self._encode_queries(queries, progress)
            dense = self._dense(view, qv, row_sets, depth)
        out = []
        for i in tqdm(range(len(queries)), desc=f"search ({method})", disable=not progress):
            if method == "dense":
                rows, scores = dense[i]
            else:
                bm_rows, bm_scores = view.bm25.top(queries[i], depth, row_sets[i])
                if method == "bm25":
                    rows, scores = bm_rows, bm_scores
                else:
                    fused = rrf([dense[i][0].tolist(), bm_rows.tolist()], self.p.rrf_k)[:k]
                    rows = np.asarray([r for r, _ in fused], dtype=np.int64)
                    scores = np.asarray([s for _, s in fused], dtype=np.float32)
            out.append(view.hits(rows[:k], scores[:k]))
        return out

    def _search_auto(self, queries: list[str], k: int, meeting_ids: list[str | None], domain: str | None,
                     progress: bool) -> list[list[schema.Hit]]:
        """One batched search per resolved method, answers put back in the order asked."""
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(meeting_ids):
            groups.setdefault(self.best_method(setting_of(m)), []).append(i)
        out: list[list[schema.Hit]] = [[] for _ in queries]
        for method, idx in groups.items():
            hits = self.search_many([queries[i] for i in idx], k, [meeting_ids[i] for i in idx], domain,
                                    method, progress)  # type: ignore[arg-type]
            for i, h in zip(idx, hits):
                out[i] = h
        return out

    def clear_query_cache(self) -> None:
        """Forget remembered query vectors (latency measurements that include embedding)."""
        self._query_cache.clear()

    def encode_queries(self, queries: Sequence[str]) -> "np.ndarray":
        """Unit query vectors, from the cache when the question was searched before (the
        service's drift monitor re-reads the vectors of the questions it was asked)."""
        return self._encode_queries(queries)

    def _encode_queries(self, queries: Sequence[str], progress: bool = False) -> "np.ndarray":
        """Query vectors, remembered per text: evaluation and the service repeat queries
        (dense and hybrid, within and across meetings) and embedding dominates a search."""
        import numpy as np

        if not queries:
            return np.zeros((0, self.embedder.info.dim), dtype=np.float32)
        found = {q: v for q in queries if (v := self._query_cache.get(q)) is not None}
        todo = list(dict.fromkeys(q for q in queries if q not in found))
        if todo:
            found.update(zip(todo, self.embedder.encode(todo, batch_size=self.p.batch_size, progress=progress)))
            if len(self._query_cache) + len(todo) > QUERY_CACHE_SIZE:
                self._query_cache.clear()
            if len(todo) <= QUERY_CACHE_SIZE:
                self._query_cache.update((q, found[q]) for q in todo)
        return np.stack([found[q] for q in queries])

    def _dense(self, view: _View, qv: "np.ndarray", row_sets: list["np.ndarray | None"],
               k: int) -> list[tuple["np.ndarray", "np.ndarray"]]:
        """Top-k rows per query: FAISS for the whole corpus (batched), exact scoring for small
        filtered sets, FAISS with an id selector for large ones."""
        import numpy as np

        snap = view.snap
        out: list[Any] = [None] * len(qv)
        unfiltered = [i for i, rows in enumerate(row_sets) if rows is None]
        if unfiltered:
            scores, ids = faiss_index.search(snap.index, qv[unfiltered], k)
            for j, i in enumerate(unfiltered):
                keep = ids[j] >= 0
                out[i] = (ids[j][keep].astype(np.int64), scores[j][keep])
        for i, rows in enumerate(row_sets):
            if rows is None:
                continue
            if len(rows) == 0:
                out[i] = (rows, np.zeros(0, np.float32))
            elif len(rows) <= self.p.exact_filter_max:
                out[i] = top_k(np.asarray(view.exact_vectors[rows] @ qv[i], dtype=np.float32), rows, k)
            else:
                scores, ids = faiss_index.search(snap.index, qv[i:i + 1], k, rows)
                keep = ids[0] >= 0
                out[i] = (ids[0][keep].astype(np.int64), scores[0][keep])
        return out

    # ---- writing ------------------------------------------------------------------------
    def add_chunks(self, new: "pd.DataFrame | Iterable[dict[str, Any]]", progress: bool = False) -> dict[str, Any]:
        """Embed only `new` chunks, append them, write a new index version and swap it in.
        Chunk ids already in the index are refused (re-ingesting a meeting is a rebuild)."""
        import faiss
        import numpy as np
        import pandas as pd

        df = new if isinstance(new, pd.DataFrame) else chunk_table.from_records(new, "added chunks")
        df = chunk_table.validate(df, "added chunks")
        with self._write_lock, store.write_lock(self.stage_dir):
            base = self._latest()
            clash = sorted(set(df["chunk_id"]) & set(base.table.column("chunk_id").to_pylist()))
            if clash:
                raise ValueError(f"{len(clash)} chunk ids are already indexed (first: {clash[0]!r}); "
                                 "a changed meeting needs a rebuild, not an add")
            vectors = self.embedder.encode(list(df["text"]), batch_size=self.p.batch_size, progress=progress)
            index = faiss.clone_index(base.index)
            index.add(vectors)
            faiss_index.configure_search(index, self.p)
            all_vectors = np.vstack([np.asarray(base.vectors), vectors])
            table = _append(base.table, df)
            ids = table.column("chunk_id").to_pylist()
            meta = {**base.meta, "chunk_ids": ids,
                    "data_hash": chunk_table.data_hash(table), "n_chunks": len(ids),
                    "n_meetings": len(set(table.column("meeting_id").to_pylist())),
                    "added": base.meta.get("added", []) + [{
                        "from_version": base.version, "chunks": len(df),
                        "meetings": sorted(df["meeting_id"].unique().tolist())}]}
            bm25 = (self._view.bm25.extended(df["text"]) if base is self._view.snap
                    else Bm25(table.column("text").to_pylist(), self.p.bm25_k1, self.p.bm25_b))
            version = self._publish(index, all_vectors, table, meta, bm25)
        return {"version": version, "added_chunks": len(df), "n_chunks": len(ids),
                "meetings": sorted(df["meeting_id"].unique().tolist())}

    def rename_speakers(self, meeting_id: str, mapping: dict[str, str]) -> dict[str, Any]:
        """Rename speakers of one meeting in the chunk table (its `speakers` and the speaker of
        each text line) as a new index version. Vectors and the FAISS index are kept as they are
        (no re-embedding: a name is a small part of a chunk's text); BM25 is rebuilt over the new
        texts so a question naming the new speaker finds their chunks."""
        import pandas as pd

        from minutes.data.chunking import rename_speakers_in_text

        with self._write_lock, store.write_lock(self.stage_dir):
            base = self._latest()
            chunks = base.chunks.copy()
            rows = (chunks["meeting_id"] == meeting_id).to_numpy()
            if not rows.any():
                raise UnknownMeeting(f"meeting {meeting_id!r} is not in the index")
            chunks.loc[rows, "text"] = [rename_speakers_in_text(t, mapping) for t in chunks.loc[rows, "text"]]
            chunks.loc[rows, "speakers"] = pd.Series(
                [list(dict.fromkeys(mapping.get(str(x), str(x)) for x in ss)) for ss in chunks.loc[rows, "speakers"]],
                index=chunks.index[rows], dtype=object)
            meta = {**base.meta, "data_hash": chunk_table.data_hash(chunks),
                    "renamed": base.meta.get("renamed", []) + [{
                        "from_version": base.version, "meeting_id": meeting_id, "mapping": dict(mapping)}]}
            bm25 = Bm25(chunks["text"], self.p.bm25_k1, self.p.bm25_b)
            version = self._publish(base.index, base.vectors, chunks, meta, bm25)
        return {"version": version, "meeting_id": meeting_id, "chunks": int(rows.sum())}

    def _latest(self) -> store.Snapshot:
        """The snapshot to build the next version on (call under the write locks): ours, or the
        one another process wrote since we opened."""
        base = self._view.snap
        if store.current_version(self.stage_dir) != base.version:
            base = store.read_current(self.stage_dir)
            self._check_params(self.params, base.meta, base.version)
            faiss_index.configure_search(base.index, self.p)
        return base

    def _publish(self, index: Any, vectors: "np.ndarray", chunks: "pd.DataFrame | pa.Table",
                 meta: dict[str, Any], bm25: Bm25) -> str:
        """Write a version and swap it in as the one readers see (call under the write locks).
        The chunk table is read back memory-mapped, so the process holds no second copy."""
        version = store.write_version(self.stage_dir, index, vectors, chunks, meta, bm25)
        table = store.read_table(self.stage_dir / version, mmap=True)
        snap = store.Snapshot(index=index, vectors=vectors, table=table,
                              meta=store.read_meta(self.stage_dir), version=version, bm25=bm25)
        self._view = _View(snap, self.p.bm25_k1, self.p.bm25_b)
        return version

    def reload(self) -> bool:
        """Pick up a version another process wrote; True when it changed."""
        if store.current_version(self.stage_dir) == self.version:
            return False
        snap = store.read_current(self.stage_dir)
        self._check_params(self.params, snap.meta, snap.version)
        faiss_index.configure_search(snap.index, self.p)
        self._view = _View(snap, self.p.bm25_k1, self.p.bm25_b)
        return True

