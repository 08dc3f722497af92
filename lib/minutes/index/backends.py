"""torch vs the exported embedders (onnxruntime int8, OpenVINO): throughput on the same chunks,
the cost of one question, and how much retrieval quality each keeps: an index built from its
vectors, and its questions against the torch index (what `serve.query_backend` does)."""
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


def backend_retriever(params: "Params", base: Retriever, embedder: Embedder, mask: "Any",
                      vectors: "Any" = None, progress: bool = True) -> tuple[Retriever, "Any"]:
    """An in-memory retriever with `embedder`'s vectors (given, or embedded now) over the chunks
    of `mask` (the queries' meetings: what the within-meeting evaluation reads; re-embedding a
    whole corpus per backend would dominate the notebook's time). Nothing is written to disk."""
    part = base.chunks()[mask].reset_index(drop=True)
    if vectors is None:
        vectors = embedder.encode(list(part["text"]), batch_size=params.index.batch_size, progress=progress)
    index, knobs = faiss_index.build(vectors, base.manifest.get("kind", "flat"), params.index)
    backend = embedder.info.backend
    meta = {**base.manifest, "backend": backend, "knobs": knobs, "chunk_ids": list(part["chunk_id"])}
    snap = store.Snapshot(index=index, vectors=vectors, chunks=part, meta=meta, version=f"{base.version}-{backend}")
    return Retriever(params, snap, embedder), vectors


def compare_sample(queries: Sequence[dict[str, Any]], n_meetings: int) -> list[dict[str, Any]]:
    """The queries of `n_meetings` of their meetings (0: all), picked by a stable hash of the
    meeting id: every backend re-embeds these meetings' chunks, the rest is only asked about."""
    import hashlib

    meetings = sorted({q["meeting_id"] for q in queries}, key=lambda m: hashlib.sha256(m.encode()).hexdigest())
    keep = set(meetings[:n_meetings] if n_meetings else meetings)
    return [q for q in queries if q["meeting_id"] in keep]


def prefix(backend: str) -> str:
    """A backend's name in figure keys: onnx-int8 -> onnx_int8."""
    return backend.replace("-", "_")


def compare_backends(params: "Params", base: Retriever, queries: Sequence[dict[str, Any]],
                     weights: dict[str, list[float]], ks: Sequence[int], progress: bool = True,
                     backends: Sequence[str] | None = None) -> dict[str, Any]:
    """torch and each of `backends` (default index.compare_backends) on the same inputs:
    throughput on the same chunks (and its ratio to torch), one question's cost, the cosine of
    its vectors to torch's, and the dense retrieval it keeps of torch's: an index of its own
    vectors over the queries' meetings (within-meeting recall), and its questions against the
    served index in both settings (what serve.query_backend does). The index's own backend reuses
    the index's vectors. Returns figures, a table and the per-query rows of each backend."""
    import numpy as np
    import pandas as pd

    names = ["torch", *[b for b in (backends if backends is not None else params.index.compare_backends) if b != "torch"]]
    built_with = base.embedder.info.backend
    texts = list(base.chunks()["text"])
    sample = texts[: params.index.onnx_speed_sample]
    questions = [q["query"] for q in queries][:50]
    sampled = compare_sample(queries, params.index.compare_meetings)
    mask = base.chunks()["meeting_id"].isin({q["meeting_id"] for q in sampled}).to_numpy()
    speed: dict[str, Any] = {"sample_chunks": len(sample)}
    figures: dict[str, Any] = {}
    frames, rows_by, vectors_by = [], {}, {}
    k = 10 if 10 in ks else max(ks)
    for backend in names:
        pre = prefix(backend)
        t0 = time.perf_counter()
        emb = base.embedder if backend == built_with else embedder_for(params, backend)  # exports cached
        speed[f"{backend}_load_or_export_s"] = round(time.perf_counter() - t0, 2)
        speed[backend] = throughput(emb, sample, params.index.batch_size)
        figures[f"{pre}_chunks_per_s"] = speed[backend]["chunks_per_s"]
        figures[f"{pre}_query_ms"] = query_ms(emb, questions)
        given = np.asarray(base.vectors())[mask] if backend == built_with else None
        r, vectors_by[backend] = backend_retriever(params, base, emb, mask, given, progress)
        own = evaluate(r, sampled, weights, ks, methods=["dense"], progress=progress, label=backend)
        rows_by[backend] = own[own["setting"] == "within"]  # its vectors cover the queries' meetings only
        mixed = evaluate(Retriever(params, base.snapshot, emb), queries, weights, ks, methods=["dense"],
                         progress=False, label=f"{backend} queries, {built_with} index")
        frames += [rows_by[backend], mixed]
        if backend == "torch":
            torch_mixed = mixed
            continue
        figures[f"{pre}_speedup"] = round(figures[f"{pre}_chunks_per_s"] / figures["torch_chunks_per_s"], 2)
        cos = np.sum(vectors_by[backend] * vectors_by["torch"], axis=1)  # both are unit vectors
        figures[f"{pre}_cosine_to_torch_mean"] = round(float(cos.mean()), 5)
        figures[f"{pre}_cosine_to_torch_min"] = round(float(cos.min()), 5)
        for key, rows, ref, settings in ((pre, rows_by[backend], rows_by["torch"], ("within",)),
                                         (f"{pre}_queries", mixed, torch_mixed, ("within", "corpus"))):
            for setting in settings:
                t = ref[ref["setting"] == setting][f"recall@{k}"].mean()
                q = rows[rows["setting"] == setting][f"recall@{k}"].mean()
                figures[f"{key}_{setting}_recall@{k}"] = round(float(q), 4)
                figures[f"{key}_{setting}_recall@{k}_retained"] = round(float(q / t), 4) if t > 0 else float("nan")
    figures["fastest_kept_backend"] = fastest_kept(figures, names[1:], k=k)
    table = summary(pd.concat(frames, ignore_index=True), [x for x in ks if x in params.index.eval_ks] or list(ks),
                    by=("label", "setting"))
    cosine = {b: {"mean": figures[f"{prefix(b)}_cosine_to_torch_mean"], "min": figures[f"{prefix(b)}_cosine_to_torch_min"]}
              for b in names[1:]}
    return {"figures": figures, "speed": speed, "cosine": cosine, "table": table, "per_query": rows_by}


def fastest_kept(figures: dict[str, Any], backends: Sequence[str], min_retained: float = 0.99,
                 k: int = 10) -> str:
    """The fastest of torch and `backends` whose own vectors keep at least `min_retained` of
    torch's within-meeting recall@k (torch when none does): what index.backend should be."""
    best, best_rate = "torch", float(figures["torch_chunks_per_s"])
    for b in backends:
        kept = figures.get(f"{prefix(b)}_within_recall@{k}_retained")
        rate = figures.get(f"{prefix(b)}_chunks_per_s")
        if kept is not None and kept == kept and kept >= min_retained and rate is not None and rate > best_rate:
            best, best_rate = b, float(rate)
    return best


def compare_backends_cached(params: "Params", base: Retriever, queries: Sequence[dict[str, Any]],
                            weights: dict[str, list[float]], ks: Sequence[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`compare_backends`, reused when nothing it depends on changed (the speed figures are
    then those measured when it was computed: the info says when). Returns (result, info)."""
    parts = evaluation_parts(params, base, queries, weights, ks, "compare_backends")
    return memoized(params.stage_dir("index") / EVAL_CACHE, "compare_backends", parts,
                    lambda: compare_backends(params, base, queries, weights, ks))
