"""`python -m minutes.bench scale`: the whole service at 10k, 100k (and 1M) chunks. SKELETON.

For each size: a service state (ETL utterances + an index version with vectors, FAISS and BM25)
of synthetic meetings made from real QMSum utterances shuffled across speakers and meetings;
then the real service (`python -m minutes.serve`) started on it, and per method (dense, bm25,
hybrid) and setting (within a meeting, across the corpus) /ask p50/p95/p99 and throughput at the
load test's concurrency, start-up time (process start to /readyz) and resident memory per chunk.

Embedding millions of chunks with MiniLM would take days on 2 cores, so chunks AND questions are
embedded by `HashEmbedder`, a deterministic stand-in (hashed content words, a fixed random
projection, unit length) with MiniLM's dimension: FAISS and the service do the same work per
query, retrieval quality means nothing. The FAISS kind per size comes from `KINDS` (flat where
it holds the target, HNSW beyond), and its recall@10 against flat is reported.

Status: state building, the stand-in, FAISS recall and the plot are written; running the service
on a stand-in index needs `index.embedding_model=hash-384` to load `HashEmbedder` in
minutes.index.embed (not part of this module), so `run` stops with that message until then.
Never run at 1M here: MINUTES_BENCH_SCALE_1M=1 adds that size.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DIM = 384
STAND_IN = "hash-384"
SIZES = (10_000, 100_000)
#: FAISS kind per corpus size (the smallest size it applies from).
KINDS = {0: "flat", 500_000: "hnsw"}
#: Chunks per synthetic meeting (QMSum's local profile: about 34).
MEETING_CHUNKS = 40
METHODS = ("dense", "bm25", "hybrid")
SEED = 15


class HashEmbedder:
    """Deterministic stand-in for the sentence embedder: each content word gets a fixed random
    vector (seeded by its hash); a text is the unit-length sum of its words' vectors."""

    def __init__(self, dim: int = DIM) -> None:
        from minutes.index.model_identity import ModelInfo

        self.dim = dim
        self.info = ModelInfo(name=STAND_IN, source=STAND_IN, dim=dim, max_seq_length=512,
                              fingerprint=hashlib.sha256(f"{STAND_IN}:{dim}:v1".encode()).hexdigest()[:16],
                              backend="torch")
        self._words: dict[str, "np.ndarray"] = {}

    def _word(self, w: str) -> "np.ndarray":
        import numpy as np

        v = self._words.get(w)
        if v is None:
            seed = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            if len(self._words) < 200_000:
                self._words[w] = v
        return v

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> "np.ndarray":
        import numpy as np

        from minutes.text import content_words

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in content_words(t):
                out[i] += self._word(w)
        out[np.linalg.norm(out, axis=1) == 0, 0] = 1.0  # an empty text is a fixed unit vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def kind_for(n: int) -> str:
    return KINDS[max(size for size in KINDS if size <= n)]


def synthetic_corpus(n_chunks: int, seed: int = SEED) -> tuple[list[dict[str, Any]], "pd.DataFrame"]:
    """Utterance records and a chunk table of n_chunks chunks in meetings of MEETING_CHUNKS,
    from QMSum turns drawn at random and given random speakers (minutes.bench.bm25's chunks)."""
    import pandas as pd

    from minutes.bench.bm25 import synthetic_chunks, utterances

    texts = synthetic_chunks(n_chunks, utterances(), seed)
    domains = ("Product", "Academic", "Committee")
    utts: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for c, text in enumerate(texts):
        m, n = divmod(c, MEETING_CHUNKS)
        mid = f"syn{m:05d}"
        if n == 0:
            idx, clock = 0, 0.0
        lines = text.split("\n")
        first = idx
        for line in lines:
            speaker, _, said = line.partition(": ")
            dur = max(0.5, len(said.split()) / 2.5)
            utts.append({"meeting_id": mid, "idx": idx, "speaker": speaker, "start": clock, "end": clock + dur,
                         "text": said, "source": "manual", "timing": "estimated",
                         "domain": domains[m % 3], "split": "train"})
            idx, clock = idx + 1, clock + dur
        rows.append({"chunk_id": f"{mid}#{n:04d}", "meeting_id": mid, "split": "train", "domain": domains[m % 3],
                     "utt_start": first, "utt_end": idx - 1,
                     "speakers": sorted({ln.partition(": ")[0] for ln in lines}),
                     "start": utts[-len(lines)]["start"], "end": clock, "text": text,
                     "n_tokens": int(len(text.split()) * 1.3), "source": "manual"})
    return utts, pd.DataFrame(rows)


def build_state(n_chunks: int, work_dir: Path, kind: str | None = None) -> dict[str, Any]:
    """Write <work_dir>/etl/utterances.jsonl and an index version (stand-in vectors, FAISS of
    `kind`, BM25) that the service opens with -p work_dir=<work_dir> -p index.embedding_model=hash-384."""
    from minutes import schema
    from minutes.config import load_params
    from minutes.index import chunks as chunk_table
    from minutes.index import faiss_index, store
    from minutes.index.bm25 import Bm25
    from minutes.io import write_jsonl

    kind = kind or kind_for(n_chunks)
    params = load_params("ci", [f"work_dir={work_dir}", f"index.kind={kind}", f"index.embedding_model={STAND_IN}"])
    t0 = time.perf_counter()
    utts, df = synthetic_corpus(n_chunks)
    write_jsonl(params.stage_dir("etl") / schema.UTTERANCES, utts)
    emb = HashEmbedder()
    vectors = emb.encode(list(df["text"]))
    index, knobs = faiss_index.build(vectors, kind, params.index)
    bm25 = Bm25(df["text"], params.index.bm25_k1, params.index.bm25_b)
    meta = {**emb.info.as_dict(), "metric": faiss_index.METRIC, "normalized": True, "kind": kind, "knobs": knobs,
            "data_hash": chunk_table.data_hash(df), "n_chunks": len(df),
            "n_meetings": int(df["meeting_id"].nunique()), "chunk_ids": list(df["chunk_id"]),
            "source": "minutes.bench.scale"}
    with store.write_lock(params.stage_dir("index")):
        version = store.write_version(params.stage_dir("index"), index, vectors, df, meta, bm25)
    return {"chunks": len(df), "meetings": meta["n_meetings"], "kind": kind, "version": version,
            "build_s": round(time.perf_counter() - t0, 1), "vectors_bytes": int(vectors.nbytes),
            "bm25_bytes": bm25.nbytes()}


def recall_against_flat(vectors: "np.ndarray", kind: str, queries: "np.ndarray", k: int = 10) -> float:
    """Mean share of flat search's top-k that the `kind` index also returns."""
    import numpy as np

    from minutes.config.index import IndexParams
    from minutes.index import faiss_index

    p = IndexParams()
    flat, _ = faiss_index.build(vectors, "flat", p)
    other, _ = faiss_index.build(vectors, kind, p)
    faiss_index.configure_search(other, p)
    _, truth = faiss_index.search(flat, queries, k)
    _, got = faiss_index.search(other, queries, k)
    return float(np.mean([len(set(t) & set(g)) / k for t, g in zip(truth, got)]))


def measure_service(work_dir: Path, n_chunks: int, requests: int, concurrency: int) -> dict[str, Any]:
    """Start the service on `work_dir`, time start-up, read its RSS, load-test /ask per method
    and setting. Needs minutes.index.embed to know the stand-in (see the module docstring)."""
    raise NotImplementedError(
        f"the service cannot load the {STAND_IN!r} stand-in embedder yet: minutes.index.embed.load_embedder "
        "must return minutes.bench.scale.HashEmbedder for index.embedding_model=hash-384 "
        "(planned: platform.processes.Service + serve.loadtest.run_load with payloads per method, "
        "psutil RSS of the service pid after warm-up, minus vectors and BM25 bytes, per chunk)")


def plot(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """p95 latency against corpus size, one line per method and setting (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    df = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for (method, setting), g in df.groupby(["method", "setting"]):
        g = g.sort_values("chunks")
        ax.plot(g["chunks"], g["p95_ms"], marker="o", label=f"{method} {setting}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("/ask p95 (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def run(args: Any) -> dict[str, Any]:
    """--quick: build a 2k-chunk state and report HNSW recall@10 against flat on it (the parts
    that work today). Otherwise skipped until the service can load the stand-in."""
    import tempfile

    import numpy as np

    if not args.quick:
        return {"skipped": "skeleton: measure_service needs the hash-384 stand-in in minutes.index.embed; "
                           "run with --quick to build a small state"}
    work = Path(tempfile.mkdtemp(prefix="minutes-scale-")) / "work"
    state = build_state(2_000, work)
    from minutes.index import store

    snap = store.read_current(work / "index")
    queries = HashEmbedder().encode(list(snap.chunks["text"].iloc[:50].str.slice(0, 200)))
    state["hnsw_recall@10_vs_flat"] = round(recall_against_flat(np.asarray(snap.vectors), "hnsw", queries), 4)
    return {"stand_in": STAND_IN, "sizes": [state]}
