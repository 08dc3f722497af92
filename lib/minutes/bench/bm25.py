"""`python -m minutes.bench bm25`: BM25 per query, the bm25s score matrix we serve against
rank-bm25's BM25Okapi (what the index used before), at 10k and 100k synthetic chunks.

Chunks are real QMSum utterances (train and val) shuffled across meetings and speakers, about
CHUNK_WORDS words each (the size 10_etl cuts); queries are QMSum's own specific queries. Both
rankers tokenize with `minutes.text.content_words` and give the same scores (tests/index), so
the figures compare only how they score: per query over every chunk (corpus-wide) and over one
meeting's worth of rows (within a meeting; the old code scored just those rows, the new one
scores all and picks them), the build, and an add of one meeting (`Bm25.extended`; the old code
rebuilt on the next search). rank-bm25 is needed only here, as the peer being compared.
"""
from __future__ import annotations

import json
import time
from typing import Any

CHUNK_WORDS = 200
#: Chunks in one synthetic meeting (the within-meeting row set).
MEETING_CHUNKS = 40
SEED = 15


def utterances() -> list[tuple[str, str]]:
    """(speaker, cleaned text) of every QMSum train and val turn."""
    from minutes.config import load_params
    from minutes.text import clean_text

    qmsum = load_params("local").data.qmsum.path
    out = []
    for split in ("train", "val"):
        for path in sorted((qmsum / split).glob("*.json")):
            for t in json.loads(path.read_text())["meeting_transcripts"]:
                if text := clean_text(t["content"]):
                    out.append((str(t["speaker"]), text))
    if not out:
        raise FileNotFoundError("no QMSum meetings in the profile's data.qmsum.path")
    return out


def synthetic_chunks(n: int, turns: list[tuple[str, str]], seed: int = SEED) -> list[str]:
    """`n` chunks of about CHUNK_WORDS words: turns drawn at random (with replacement), each
    given the speaker of another random turn."""
    import numpy as np

    rng = np.random.default_rng(seed)
    texts, lines, size = [], [], 0
    while len(texts) < n:
        for i, j in zip(rng.integers(0, len(turns), 4096), rng.integers(0, len(turns), 4096)):
            text = turns[i][1]
            lines.append(f"{turns[j][0]}: {text}")
            size += text.count(" ") + 1
            if size >= CHUNK_WORDS:
                texts.append("\n".join(lines))
                lines, size = [], 0
                if len(texts) == n:
                    break
    return texts


def queries(limit: int) -> list[str]:
    from minutes.config import load_params

    qmsum = load_params("local").data.qmsum.path
    out = []
    for path in sorted((qmsum / "val").glob("*.json")):
        out += [q["query"] for q in json.loads(path.read_text()).get("specific_query_list", [])]
    return out[:limit]


def _ms(fn: Any, items: list[Any]) -> dict[str, float]:
    import numpy as np

    times = []
    for x in items:
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}


def one_size(texts: list[str], qs: list[str], old_queries: int) -> dict[str, Any]:
    import numpy as np
    from rank_bm25 import BM25Okapi

    from minutes.index.bm25 import EMPTY, Bm25
    from minutes.text import content_words

    rows = np.arange(MEETING_CHUNKS, dtype=np.int64) + len(texts) // 2
    t0 = time.perf_counter()
    new = Bm25(texts)
    new_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    old = BM25Okapi([content_words(t) or [EMPTY] for t in texts])
    old_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    new.extended(texts[:MEETING_CHUNKS])  # an /ingest of one meeting: tokenize it, rescore all
    new_add = time.perf_counter() - t0
    terms = [content_words(q) for q in qs]
    row_list = rows.tolist()
    figures = {
        "new_corpus": _ms(new.scores, qs),
        "old_corpus": _ms(lambda i: old.get_scores(terms[i]), list(range(old_queries))),
        "new_within": _ms(lambda q: new.scores(q, rows), qs),
        "old_within": _ms(lambda i: old.get_batch_scores(terms[i], row_list), list(range(old_queries))),
    }
    same = all(np.allclose(new.scores(qs[i]), old.get_scores(terms[i]), atol=1e-4) for i in range(3))
    return {"chunks": len(texts), "queries_new": len(qs), "queries_old": old_queries, **figures,
            "speedup_corpus_p50": round(figures["old_corpus"]["p50_ms"] / figures["new_corpus"]["p50_ms"], 1),
            "speedup_within_p50": round(figures["old_within"]["p50_ms"] / figures["new_within"]["p50_ms"], 2),
            "build_s": {"new": round(new_build, 1), "old": round(old_build, 1)},
            "add_one_meeting_s": {"new": round(new_add, 2)},
            "score_matrix_bytes_per_chunk": round(new.nbytes() / len(texts), 1),
            "same_scores": bool(same)}


def run(args: Any) -> dict[str, Any]:
    sizes = (2_000, 10_000) if args.quick else (10_000, 100_000)
    turns = utterances()
    qs = queries(50)
    texts = synthetic_chunks(max(sizes), turns)
    out: dict[str, Any] = {"chunk_words": CHUNK_WORDS, "utterances": len(turns), "meeting_chunks": MEETING_CHUNKS,
                           "sizes": []}
    for n in sizes:
        res = one_size(texts[:n], qs, old_queries=20 if n <= 10_000 else 10)
        print(f"{n:>7} chunks  corpus p50 new {res['new_corpus']['p50_ms']} ms, old {res['old_corpus']['p50_ms']} ms "
              f"({res['speedup_corpus_p50']}x)  within p50 new {res['new_within']['p50_ms']} ms, "
              f"old {res['old_within']['p50_ms']} ms", flush=True)
        out["sizes"].append(res)
    return out
