"""`python -m minutes.bench scale`: the whole service at 10k and 100k chunks (1M on request).

For each size: a service state (ETL utterances + an index version with vectors, FAISS and BM25)
of synthetic meetings made from real QMSum utterances shuffled across speakers and meetings
(minutes.bench.bm25's chunks); then the real service (`python -m minutes.serve` under uvicorn)
started on it once per retrieval method (dense, bm25, hybrid: `serve.retrieval_method`), and per
setting (within a meeting, across the corpus) /ask p50/p95/p99 and throughput at concurrency 4
with QMSum's own questions, each asked once; start-up time (process start to /readyz) and
resident memory per chunk.

Stand-in: embedding 100k chunks with MiniLM would take hours on 2 cores (1M: days), so chunks
AND questions are embedded by minutes.index.hash_embed.HashEmbedder (`index.embedding_model=
hash-384`, MiniLM's dimension): FAISS, BM25 and the service do the work they do with MiniLM per
query, except the question's embedding itself (~0.1 ms here instead of MiniLM's ~5-20 ms), and
retrieval quality means nothing. The FAISS kind per size is `kind_for` (flat up to KINDS' next
threshold) unless MINUTES_BENCH_SCALE_KIND names one (hnsw, ivf, ...); recall@10 of HNSW and
IVF against flat is reported at every size.

Environment: MINUTES_BENCH_SCALE_SIZES="10000,100000" (add 1000000 for 1M; ~24 GB RAM needed
for its build here), MINUTES_BENCH_SCALE_REQUESTS (measured requests per method and setting,
default 300). `--quick`: one 2k-chunk size, fewer requests. States are kept under
outputs/work/bench/scale/<chunks>-<kind> and reused.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

STAND_IN = "hash-384"
SIZES = (10_000, 100_000)
#: FAISS kind per corpus size (the smallest size it applies from). At 100k chunks a flat search
#: costs ~7 ms per corpus-wide query on one core (this bench's `flat_ms_per_query`), HNSW
#: ~0.15 ms: with four requests sharing two cores flat alone would take a large part of the
#: 60 ms p95 budget (recall@10 of HNSW against flat is reported with every run).
KINDS = {0: "flat", 50_000: "hnsw"}
#: Chunks per synthetic meeting (QMSum's local profile: about 34).
MEETING_CHUNKS = 40
METHODS = ("dense", "bm25", "hybrid")
SETTINGS = ("within", "corpus")
CONCURRENCY = 4
#: Issue 15's targets for hybrid at 100k chunks (p95, ms) and memory beyond the vectors.
TARGET_P95_MS = {"within": 30.0, "corpus": 60.0}
TARGET_BYTES_PER_CHUNK = 3 * 1024
SEED = 15
#: efSearch values whose recall and time the HNSW row reports (the profile's value is one).
HNSW_EF_SWEEP = (64, 128, 256, 512)
PORTS = range(20600, 20700)


def kind_for(n: int) -> str:
    forced = os.environ.get("MINUTES_BENCH_SCALE_KIND", "")
    return forced or KINDS[max(size for size in KINDS if size <= n)]


def synthetic_corpus(n_chunks: int, seed: int = SEED) -> tuple[Iterator[dict[str, Any]], list[dict[str, Any]]]:
    """Utterance records and the chunk rows of n_chunks chunks in meetings of MEETING_CHUNKS,
    from QMSum turns drawn at random and given random speakers (minutes.bench.bm25's chunks).

    The utterances come as an iterator, to be written as they are made (1M chunks are 16M
    utterances, ~11 GB as a list of dicts); `rows` is complete once it is exhausted."""
    from minutes.bench.bm25 import synthetic_chunks, utterances

    texts = synthetic_chunks(n_chunks, utterances(), seed)
    rows: list[dict[str, Any]] = []

    def utts() -> Iterator[dict[str, Any]]:
        domains = ("Product", "Academic", "Committee")
        idx, clock = 0, 0.0
        for c, text in enumerate(texts):
            m, n = divmod(c, MEETING_CHUNKS)
            mid = f"syn{m:05d}"
            if n == 0:
                idx, clock = 0, 0.0
            lines = text.split("\n")
            first, first_start = idx, clock
            for line in lines:
                speaker, _, said = line.partition(": ")
                dur = max(0.5, len(said.split()) / 2.5)
                yield {"meeting_id": mid, "idx": idx, "speaker": speaker, "start": round(clock, 2),
                       "end": round(clock + dur, 2), "text": said, "source": "manual", "timing": "estimated",
                       "domain": domains[m % 3], "split": "train"}
                idx, clock = idx + 1, clock + dur
            rows.append({"chunk_id": f"{mid}#{n:04d}", "meeting_id": mid, "split": "train", "domain": domains[m % 3],
                         "utt_start": first, "utt_end": idx - 1,
                         "speakers": sorted({ln.partition(": ")[0] for ln in lines}),
                         "start": round(first_start, 2), "end": round(clock, 2), "text": text,
                         "n_tokens": int(len(text.split()) * 1.3), "source": "manual"})

    return utts(), rows


def state_params(work_dir: Path, kind: str, *extra: str) -> Any:
    """The parameters the state is built and served with (ci profile, stand-in embedder)."""
    from minutes.config import load_params

    return load_params("ci", [f"work_dir={work_dir}", f"index.kind={kind}", f"index.embedding_model={STAND_IN}",
                              "serve.query_backend=index", *extra])


def build_state(n_chunks: int, work_dir: Path, kind: str | None = None) -> dict[str, Any]:
    """Write <work_dir>/etl/utterances.jsonl and an index version (stand-in vectors, FAISS of
    `kind`, BM25) that the service opens with state_params' overrides."""
    import pandas as pd

    from minutes import schema
    from minutes.index import chunks as chunk_table
    from minutes.index import faiss_index, store
    from minutes.index.bm25 import Bm25
    from minutes.index.embed import load_embedder
    from minutes.io import write_jsonl

    kind = kind or kind_for(n_chunks)
    params = state_params(work_dir, kind)
    t0 = time.perf_counter()
    utts, rows = synthetic_corpus(n_chunks)
    n_utterances = write_jsonl(params.stage_dir("etl") / schema.UTTERANCES, utts)
    df = pd.DataFrame(rows)
    del rows
    emb = load_embedder(params.index)
    t_embed = time.perf_counter()
    vectors = emb.encode(list(df["text"]))
    embed_s = time.perf_counter() - t_embed
    index, knobs = faiss_index.build(vectors, kind, params.index)
    bm25 = Bm25(df["text"], params.index.bm25_k1, params.index.bm25_b)
    meta = {**emb.info.as_dict(), "metric": faiss_index.METRIC, "normalized": True, "kind": kind, "knobs": knobs,
            "data_hash": chunk_table.data_hash(df), "n_chunks": len(df),
            "n_meetings": int(df["meeting_id"].nunique()), "chunk_ids": list(df["chunk_id"]),
            "source": "minutes.bench.scale"}
    with store.write_lock(params.stage_dir("index")):
        version = store.write_version(params.stage_dir("index"), index, vectors, df, meta, bm25)
    return {"chunks": len(df), "meetings": meta["n_meetings"], "utterances": n_utterances, "kind": kind,
            "version": version, "build_s": round(time.perf_counter() - t0, 1), "stand_in_embed_s": round(embed_s, 1),
            "vectors_bytes": int(vectors.nbytes), "bm25_bytes": int(bm25.nbytes())}


def ensure_state(n_chunks: int, root: Path, kind: str) -> tuple[Path, dict[str, Any]]:
    """The state of that size and kind under `root`, built once (a state.json marks it complete)."""
    from minutes.io import read_json, write_json

    work = root / f"{n_chunks}-{kind}"
    marker = work / "state.json"
    if marker.is_file():
        info = {**read_json(marker), "reused": True}
    else:
        shutil.rmtree(work, ignore_errors=True)
        info = {**build_state(n_chunks, work, kind), "reused": False}
        write_json(marker, info)
    prepare_corpus(work)
    return work, info


def prepare_corpus(work: Path) -> None:
    """Build the service's cached utterance table here, so that no measured service process
    builds it (and carries what reading 1.6M utterances left in its heap)."""
    from minutes import schema
    from minutes.serve.utterance_store import UtteranceTable

    params = state_params(work, "flat")
    UtteranceTable.open(params.stage_dir("etl") / schema.UTTERANCES, params.stage_dir("serve") / "corpus")


def questions() -> list[str]:
    """QMSum's own questions (train and val, specific then general), each text once."""
    from minutes.config import load_params

    qmsum = load_params("local").data.qmsum.path
    seen: dict[str, None] = {}
    for key in ("specific_query_list", "general_query_list"):
        for split in ("train", "val"):
            for path in sorted((qmsum / split).glob("*.json")):
                for q in json.loads(path.read_text()).get(key, []):
                    seen.setdefault(" ".join(str(q["query"]).split()), None)
    return [q for q in seen if q]


def payload_sets(meetings: int, n: int) -> dict[str, list[dict[str, Any]]]:
    """Disjoint question sets per setting (the service caches question vectors: no text twice),
    within-meeting ones aimed at random synthetic meetings."""
    import numpy as np

    qs = questions()
    rng = np.random.default_rng(SEED)
    order = [qs[i] for i in rng.permutation(len(qs))]
    half = len(order) // 2
    n = min(n, half)
    mids = rng.integers(0, meetings, n)
    return {"within": [{"question": q, "meeting_id": f"syn{m:05d}"} for q, m in zip(order[:n], mids)],
            "corpus": [{"question": q, "meeting_id": None} for q in order[half:half + n]]}


def free_port(exclude: Sequence[int] = ()) -> int:
    from minutes.platform.processes import free_port as free

    return free(PORTS, tuple(exclude))


def service_rss(pid: int) -> int:
    """Resident bytes of the service process and its children."""
    import psutil

    proc = psutil.Process(pid)
    return int(sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]))


def anonymous_bytes(pid: int) -> int | None:
    """The process's anonymous resident bytes (its own heap, not pages of mapped files, which
    RSS also counts: clean page cache the kernel can take back), or None where /proc lacks it."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def evict(folder: Path) -> int:
    """Drop a state's files from the page cache (written out first: POSIX_FADV_DONTNEED drops
    clean pages only), so the service that starts next reads them from disk, as after a
    reboot; files evicted."""
    n = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and hasattr(os, "posix_fadvise"):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                n += 1
            finally:
                os.close(fd)
    return n


#: the service's registry client gives up at once on the dead address below
SERVICE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "2"}


def service_command(work_dir: Path, kind: str, port: int, *extra: str) -> tuple[Any, list[str]]:
    """The parameters and argv of a service on a state: extractive (its registry address is a
    loopback port nothing listens on), one torch thread, `extra` overrides last."""
    dead = free_port(exclude=[port])
    overrides = [f"serve.port={port}", "serve.alias_poll_seconds=3600", f"mlflow.tracking_uri=http://127.0.0.1:{dead}",
                 "serve.torch_threads=1", *extra]
    argv = [sys.executable, "-m", "minutes.serve", "--profile", "ci", "--log-level", "warning"]
    for o in [f"work_dir={work_dir}", f"index.kind={kind}", f"index.embedding_model={STAND_IN}",
              "serve.query_backend=index", *overrides]:
        argv += ["-p", o]
    return state_params(work_dir, kind, *overrides), argv


def measure_service(work_dir: Path, n_chunks: int, kind: str, method: str, payloads: dict[str, list[dict[str, Any]]],
                    requests: int, warmup: int = 20, concurrency: int = CONCURRENCY) -> list[dict[str, Any]]:
    """Start the real service on `work_dir` serving `method`, time start-up, read its RSS, then
    load-test /ask within a meeting and across the corpus; one row per setting."""
    import httpx

    from minutes.platform.processes import Service
    from minutes.serve.loadtest import run_load

    port = free_port()
    if os.environ.get("MINUTES_BENCH_SCALE_COLD") == "1":
        evict(work_dir)
    params, argv = service_command(work_dir, kind, port, f"serve.retrieval_method={method}")
    svc = Service(f"scale-{method}", params.stage_dir("serve"), f"http://127.0.0.1:{port}/readyz")
    t0 = time.perf_counter()
    pid = svc.start(argv, env=SERVICE_ENV, wait_s=1800)
    startup_s = time.perf_counter() - t0
    rows = []
    try:
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).json()
        if svc.pid() != pid or ready.get("index_chunks") != n_chunks:  # another process won the port
            raise RuntimeError(f"port {port} answers for another service ({ready}); run again")
        for setting in SETTINGS:
            body = payloads[setting]
            report = run_load(f"http://127.0.0.1:{port}", body, min(requests, len(body) - warmup), concurrency,
                              warmup=warmup, name=f"{method}-{setting}", progress=False)
            rows.append({"method": method, "setting": setting, "startup_s": round(startup_s, 2),
                         "index_chunks": ready.get("index_chunks"), "mode": ready.get("mode"),
                         **{k: v for k, v in report.summary().items() if k != "test"}})
        rss, anon = service_rss(pid), anonymous_bytes(pid)
        for row in rows:
            row["rss_bytes"] = rss
            if anon is not None:
                row["anon_bytes"] = anon
    finally:
        svc.stop()
    return rows


def recall_against_flat(vectors: "np.ndarray", kind: str, queries: "np.ndarray", k: int = 10) -> dict[str, Any]:
    """Mean share of flat search's top-k that a `kind` index (the profile's knobs) also returns,
    with its build time and search time per query."""
    import numpy as np

    from minutes.config.index import IndexParams
    from minutes.index import faiss_index

    p = IndexParams()
    flat, _ = faiss_index.build(vectors, "flat", p)
    t0 = time.perf_counter()
    other, knobs = faiss_index.build(vectors, kind, p)
    build_s = time.perf_counter() - t0
    faiss_index.configure_search(other, p)
    _, truth = faiss_index.search(flat, queries, k)
    t0 = time.perf_counter()
    _, got = faiss_index.search(other, queries, k)
    search_ms = (time.perf_counter() - t0) * 1000 / len(queries)
    _ = faiss_index.search(flat, queries, k)
    t0 = time.perf_counter()
    _ = faiss_index.search(flat, queries, k)
    flat_ms = (time.perf_counter() - t0) * 1000 / len(queries)
    def recall_of(found: "np.ndarray") -> float:
        return round(float(np.mean([len(set(t) & set(g)) / k for t, g in zip(truth, found)])), 4)

    row = {"kind": kind, "recall@10_vs_flat": recall_of(got), "build_s": round(build_s, 1),
           "search_ms_per_query": round(search_ms, 3), "flat_ms_per_query": round(flat_ms, 3), **knobs}
    if kind == "hnsw":  # the knob that trades HNSW's recall for time (index.hnsw_ef_search)
        sweep = {}
        for ef in HNSW_EF_SWEEP:
            other.hnsw.efSearch = ef
            t0 = time.perf_counter()
            _, found = faiss_index.search(other, queries, k)
            sweep[str(ef)] = {"recall@10": recall_of(found),
                              "ms_per_query": round((time.perf_counter() - t0) * 1000 / len(queries), 3)}
        row["by_ef_search"] = sweep
    return row


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
    ax.set_ylabel(f"/ask p95 (ms), concurrency {CONCURRENCY}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def memory_rows(sizes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: RSS per chunk beyond the vectors, and the marginal bytes per added chunk between
    consecutive sizes. The vectors are counted once: the FAISS index holds them (flat, and
    HNSW's flat storage) and the service reads no other copy (embeddings.npy stays mapped
    and untouched; an HNSW graph counts as beyond the vectors)."""
    out, prev = [], None
    for s in sorted(sizes, key=lambda r: r["chunks"]):
        vectors = s["vectors_bytes"]
        row = {"chunks": s["chunks"], "rss_mb": round(s["rss_bytes"] / 2**20, 1), "vectors_mb": round(vectors / 2**20, 1),
               "bytes_per_chunk_beyond_vectors": round((s["rss_bytes"] - vectors) / s["chunks"])}
        if "anon_bytes" in s:  # the index's vectors are anonymous memory
            row["anon_bytes_per_chunk_beyond_vectors"] = round((s["anon_bytes"] - vectors) / s["chunks"])
        if prev is not None:
            extra = (s["rss_bytes"] - vectors) - (prev["rss_bytes"] - prev["vectors"])
            row["marginal_bytes_per_chunk_beyond_vectors"] = round(extra / (s["chunks"] - prev["chunks"]))
        out.append(row)
        prev = {**s, "vectors": vectors}
    return out


def run(args: Any) -> dict[str, Any]:
    import numpy as np

    from minutes import REPO_ROOT
    from minutes.index import store
    from minutes.index.hash_embed import HashEmbedder
    from minutes.io import write_json

    quick = bool(getattr(args, "quick", False))
    sizes = [2_000] if quick else [int(s) for s in os.environ.get(
        "MINUTES_BENCH_SCALE_SIZES", ",".join(map(str, SIZES))).split(",") if s]
    requests = 60 if quick else int(os.environ.get("MINUTES_BENCH_SCALE_REQUESTS", "300"))
    methods = [m for m in os.environ.get("MINUTES_BENCH_SCALE_METHODS", ",".join(METHODS)).split(",") if m]
    if set(methods) - set(METHODS):
        raise ValueError(f"MINUTES_BENCH_SCALE_METHODS names {sorted(set(methods) - set(METHODS))}; have {METHODS}")
    root = Path(getattr(args, "work_root", None) or REPO_ROOT / "outputs" / "work" / "bench" / "scale")
    out_dir = Path(getattr(args, "out_dir", None) or REPO_ROOT / "outputs" / "bench")
    latency, states, recalls = [], [], []
    for n in sizes:
        kind = kind_for(n)
        work, info = ensure_state(n, root, kind)
        payloads = payload_sets(info["meetings"], requests + 20)
        rows = []
        for method in methods:
            rows += measure_service(work, n, kind, method, payloads, requests)
        for row in rows:
            row.update(chunks=n, kind=kind)
        latency += rows
        info["rss_bytes"] = max(r["rss_bytes"] for r in rows)
        if all("anon_bytes" in r for r in rows):
            info["anon_bytes"] = max(r["anon_bytes"] for r in rows)
        info["startup_s"] = {r["method"]: r["startup_s"] for r in rows}
        states.append(info)
        snap = store.read_current(work / "index", mmap=True)
        qv = HashEmbedder(384, snap.meta["max_seq_length"]).encode([p["question"] for p in payloads["corpus"][:200]])
        for other in ("hnsw", "ivf"):
            recalls.append({"chunks": n, **recall_against_flat(np.asarray(snap.vectors), other, qv)})
        del snap
        write_json(out_dir / "scale.partial.json", {"states": states, "latency": latency, "faiss_recall": recalls})
    figure = plot(latency, out_dir / "scale.png")
    big = [r for r in latency if r["method"] == "hybrid" and r["chunks"] == 100_000]  # the targets' size
    targets = [{"chunks": r["chunks"], "setting": r["setting"], "p95_ms": r["p95_ms"],
                "target_p95_ms": TARGET_P95_MS[r["setting"]], "errors": r["errors"],
                "met": r["p95_ms"] <= TARGET_P95_MS[r["setting"]] and r["errors"] == 0} for r in big]
    memory = memory_rows(states)
    return {"stand_in": STAND_IN, "concurrency": CONCURRENCY, "requests_per_test": requests,
            "cpu_note": f"{os.cpu_count()} cores, shared with other work while measured",
            "states": states, "latency": latency, "faiss_recall": recalls, "memory": memory,
            "targets_100k": targets, "plot": str(figure)}
