"""The 20_index stage: embed chunks.parquet, build the FAISS index and the BM25 score matrix,
write a version + manifest.

Cached by cache.Stage on the chunk table's content and the parameters that change vectors or
index structure (not query-time knobs). A forced rebuild reuses the previous version's vectors
when model and chunks are unchanged (switching flat -> hnsw does not re-embed).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from minutes import schema
from minutes.cache import Stage
from minutes.index import chunks as chunk_table
from minutes.index import faiss_index, store
from minutes.index.bm25 import Bm25
from minutes.index import backend_choice
from minutes.index.embed import Embedder, embedder_for, export_cache, load_embedder

if TYPE_CHECKING:
    import numpy as np

    from minutes.config import Params

log = logging.getLogger(__name__)
#: Index parameters that change the stored vectors or the index structures (FAISS, BM25).
BUILD_KEYS = ["embedding_model", "backend", "max_seq_length", "kind", "hnsw_m", "hnsw_ef_construction",
              "ivf_nlist", "pq_m", "pq_nbits", "bm25_k1", "bm25_b"]


def build_params(params: "Params") -> dict[str, Any]:
    return {k: getattr(params.index, k) for k in BUILD_KEYS}


def _reusable_vectors(params: "Params", embedder: Embedder, data_hash: str) -> "np.ndarray | None":
    """Vectors of the current version when they came from the same model over the same chunks."""
    try:
        meta = store.read_meta(params.stage_dir("index"))
        if (meta.get("data_hash") == data_hash and meta.get("backend") == embedder.info.backend
                and {"fingerprint": meta.get("model_fingerprint"), "dim": meta.get("dim"),
                     "max_seq_length": meta.get("max_seq_length")} == embedder.info.key):
            return store.read_current(params.stage_dir("index")).vectors
    except (FileNotFoundError, store.IndexMismatch, KeyError, ValueError):
        pass
    return None


def embed_chunks(params: "Params", texts: list[str], embedder: Embedder, progress: bool = True) -> "np.ndarray":
    """Local batches, or Ray Data actors when `index.ray_data` is on."""
    if params.index.ray_data:
        from minutes.index.ray_embed import embed_with_ray

        return embed_with_ray(params, texts)
    return embedder.encode(texts, batch_size=params.index.batch_size, progress=progress)


def embed_cached(params: "Params", texts: list[str], embedder: Embedder, progress: bool = True) -> tuple["np.ndarray", int]:
    """`embed_chunks` through the content-addressed cache when `index.embedding_cache` is on;
    returns (vectors, how many came from the cache)."""
    if not params.index.embedding_cache:
        return embed_chunks(params, texts, embedder, progress), 0
    from minutes.index.embed_cache import EmbeddingCache

    cache = EmbeddingCache(params.work_dir / "cache" / "embeddings", embedder.info)
    return cache.encode(texts, lambda todo: embed_chunks(params, todo, embedder, progress))


def build_index(params: "Params", force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Build (or reuse) the index of the profile; returns the manifest (stage + index metadata)."""
    chunks_path = params.stage_dir("etl") / schema.CHUNKS
    if not chunks_path.is_file():
        raise FileNotFoundError(f"{chunks_path}: no chunk table; run notebook 10_etl first")
    stage = Stage(params.stage_dir("index"), build_params(params), inputs={"chunks": chunks_path},
                  force=force or params.force)
    if stage.is_current():
        try:
            meta = store.read_meta(stage.dir)
            return {**stage.manifest, **meta, "cached": True}
        except (FileNotFoundError, ValueError):
            pass  # pointer without a readable version: rebuild
    stage.begin()
    df = chunk_table.load(chunks_path)
    data_hash = chunk_table.data_hash(df)
    t0 = time.time()
    choice = None
    if params.index.backend == "auto":  # measured on this machine once, on the corpus's own chunks
        choice = backend_choice.choose(params.index, export_cache(params), load_embedder,
                                       texts=list(df["text"]))
    embedder = embedder_for(params)
    t_load = time.time() - t0
    t0 = time.time()
    vectors = _reusable_vectors(params, embedder, data_hash)
    reused = vectors is not None
    from_cache = len(df) if reused else 0
    if vectors is None:
        vectors, from_cache = embed_cached(params, list(df["text"]), embedder, progress)
    t_embed = time.time() - t0
    t0 = time.time()
    index, knobs = faiss_index.build(vectors, params.index.kind, params.index)
    t_index = time.time() - t0
    t0 = time.time()
    bm25 = Bm25(df["text"], params.index.bm25_k1, params.index.bm25_b)
    t_bm25 = time.time() - t0
    meta = {**embedder.info.as_dict(), "metric": faiss_index.METRIC, "normalized": True,
            "kind": params.index.kind, "knobs": knobs, "data_hash": data_hash,
            "n_chunks": len(df), "n_meetings": int(df["meeting_id"].nunique()),
            "chunk_ids": list(df["chunk_id"]), "source": str(chunks_path)}
    with store.write_lock(stage.dir):
        version = store.write_version(stage.dir, index, vectors, df, meta, bm25)
    meta["bm25"] = bm25.info()
    summary = {k: v for k, v in meta.items() if k != "chunk_ids"}
    timings = {"model_load_s": round(t_load, 3), "embed_s": round(t_embed, 3), "index_s": round(t_index, 3),
               "bm25_s": round(t_bm25, 3)}
    embedded = len(df) - from_cache
    if embedded and t_embed > 0:
        timings["chunks_per_s"] = round(embedded / t_embed, 1)
    manifest = stage.finish([store.CURRENT], counts={"chunks": len(df), "meetings": meta["n_meetings"],
                                                     "embedded": embedded, "vectors_from_cache": from_cache},
                            timings=timings, extra={"index": {**summary, "version": version,
                                                              "reused_vectors": reused,
                                                              "backend_choice": choice}})
    return {**manifest, **meta, "version": version, "cached": False}
