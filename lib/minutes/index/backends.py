"""torch vs int8 ONNX embedder: throughput on the same chunks, the cost of one question, and how
much retrieval quality int8 keeps: an index built from int8 vectors, and int8 questions against
the torch index (what the service's `serve.query_backend=onnx-int8` does)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from minutes.index import faiss_index, store
from minutes.index.embed import Embedder, embedder_for
from minutes.cache import memoized
from minutes.index.evaluate import EVAL_CACHE, evaluate, evaluation_parts, summary
from minutes.index.retriever import Retriever

if TYPE_CHECKING:
    import pandas as pd

    from minutes.config import Params


def throughput(embedder: Embedder, texts: Sequence[str], batch_size: int) -> dict[str, float]:
    """Chunks and word pieces per second over `texts` (after one warm-up batch)."""
    embedder.encode(list(texts[:2]), batch_size=batch_size)
    t0 = time.perf_counter()
    embedder.encode(list(texts), batch_size=batch_size)
    dt = time.perf_counter() - t0
    return {"chunks_per_s": round(len(texts) / dt, 2), "seconds": round(dt, 3)}


def query_ms(embedder: Embedder, questions: Sequence[str]) -> float:
    """Milliseconds to embed one question, one at a time (the service's per-request cost)."""
    embedder.encode(list(questions[:1]))
    t0 = time.perf_counter()
    for q in questions:
        embedder.encode([q])
    return round((time.perf_counter() - t0) * 1000 / max(1, len(questions)), 2)


def int8_retriever(params: "Params", base: Retriever, embedder: Embedder, meetings: set[str],
                   progress: bool = True) -> tuple[Retriever, "Any", "Any"]:
    """An in-memory retriever with int8 vectors over the chunks of `meetings` (what the
    within-meeting evaluation reads; re-embedding a whole corpus with a slower backend would
    dominate the notebook's time). Nothing is written to disk. Also returns the row mask."""
    chunks = base.chunks()
    mask = chunks["meeting_id"].isin(meetings).to_numpy()
    part = chunks[mask].reset_index(drop=True)
    vectors = embedder.encode(list(part["text"]), batch_size=params.index.batch_size, progress=progress)
    index, knobs = faiss_index.build(vectors, base.manifest.get("kind", "flat"), params.index)
    meta = {**base.manifest, "backend": "onnx-int8", "knobs": knobs, "chunk_ids": list(part["chunk_id"])}
    snap = store.Snapshot(index=index, vectors=vectors, chunks=part, meta=meta, version=f"{base.version}-int8")
    return Retriever(params, snap, embedder), vectors, mask


def compare_backends(params: "Params", base: Retriever, queries: Sequence[dict[str, Any]],
                     weights: dict[str, list[float]], ks: Sequence[int], progress: bool = True) -> dict[str, Any]:
    """Speed (chunks/s on the same sample, and the ratio) and dense retrieval quality of int8
    against torch. Returns figures, a table and the int8 per-query rows."""
    import numpy as np
    import pandas as pd

    torch_emb = base.embedder if base.embedder.info.backend == "torch" else embedder_for(params, "torch")
    t0 = time.perf_counter()
    int8 = embedder_for(params, "onnx-int8")  # exports once, then cached under work_dir/cache/onnx
    load_s = time.perf_counter() - t0
    texts = list(base.chunks()["text"])
    sample = texts[: params.index.onnx_speed_sample]
    speed = {"torch": throughput(torch_emb, sample, params.index.batch_size),
             "onnx-int8": throughput(int8, sample, params.index.batch_size)}
    speed["ratio"] = round(speed["onnx-int8"]["chunks_per_s"] / speed["torch"]["chunks_per_s"], 2)
    speed["sample_chunks"] = len(sample)
    speed["onnx_load_or_export_s"] = round(load_s, 2)
    questions = [q["query"] for q in queries][:50]
    speed["torch_query_ms"] = query_ms(torch_emb, questions)
    speed["onnx_int8_query_ms"] = query_ms(int8, questions)
    r8, vectors, mask = int8_retriever(params, base, int8, {q["meeting_id"] for q in queries}, progress)
    cosine = np.sum(vectors * np.asarray(base.vectors())[mask], axis=1)  # both are unit vectors
    per_query = evaluate(r8, queries, weights, ks, methods=["dense"], progress=progress, label="onnx-int8")
    torch_rows = evaluate(base, queries, weights, ks, methods=["dense"], progress=False, label="torch")
    # int8 vectors exist for the queries' meetings only, so only the within-meeting setting compares.
    per_query = per_query[per_query["setting"] == "within"]
    # int8 questions against the torch vectors: the whole corpus exists, so both settings compare.
    mixed = evaluate(Retriever(params, base.snapshot, int8), queries, weights, ks, methods=["dense"],
                     progress=False, label="int8 queries, torch index")
    both = pd.concat([torch_rows, per_query, mixed], ignore_index=True)
    table = summary(both, [k for k in ks if k in params.index.eval_ks] or list(ks), by=("label", "setting"))
    figures = {"onnx_speedup": speed["ratio"],
               "torch_chunks_per_s": speed["torch"]["chunks_per_s"],
               "onnx_int8_chunks_per_s": speed["onnx-int8"]["chunks_per_s"],
               "torch_query_ms": speed["torch_query_ms"], "onnx_int8_query_ms": speed["onnx_int8_query_ms"],
               "onnx_int8_cosine_to_torch_mean": round(float(cosine.mean()), 4),
               "onnx_int8_cosine_to_torch_min": round(float(cosine.min()), 4)}
    k = 10 if 10 in ks else max(ks)
    for prefix, rows, settings in (("onnx_int8", per_query, ("within",)),
                                   ("int8_queries", mixed, ("within", "corpus"))):
        for setting in settings:
            t = torch_rows[torch_rows["setting"] == setting][f"recall@{k}"].mean()
            q = rows[rows["setting"] == setting][f"recall@{k}"].mean()
            figures[f"{prefix}_{setting}_recall@{k}"] = round(float(q), 4)
            figures[f"{prefix}_{setting}_recall@{k}_retained"] = round(float(q / t), 4) if t > 0 else float("nan")
    return {"figures": figures, "speed": speed,
            "cosine": {"mean": figures["onnx_int8_cosine_to_torch_mean"], "min": figures["onnx_int8_cosine_to_torch_min"]},
            "table": table, "per_query": per_query}


def compare_backends_cached(params: "Params", base: Retriever, queries: Sequence[dict[str, Any]],
                            weights: dict[str, list[float]], ks: Sequence[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`compare_backends`, reused when nothing it depends on changed (the speed figures are
    then those measured when it was computed: the info says when). Returns (result, info)."""
    parts = evaluation_parts(params, base, queries, weights, ks, "compare_backends")
    return memoized(params.stage_dir("index") / EVAL_CACHE, "compare_backends", parts,
                    lambda: compare_backends(params, base, queries, weights, ks))
