"""Tables the 20_index notebook shows: what was built, what is indexed, what a query returns,
how fast searches are. Kept here so the notebook cells stay one or two lines."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from minutes.index import metrics
from minutes.index.retriever import METHODS, Retriever

if TYPE_CHECKING:
    import pandas as pd


def build_summary(manifest: dict[str, Any]) -> "pd.DataFrame":
    """One column: model, index kind and knobs, sizes, version, timings, cached or not."""
    import pandas as pd

    index = manifest.get("index", {})
    rows = {
        "embedding model": manifest.get("embedding_model"),
        "model source": manifest.get("embedding_source"),
        "backend": manifest.get("backend"),
        "dimension / metric": f"{manifest.get('dim')} / {manifest.get('metric')}",
        "max word pieces per chunk": manifest.get("max_seq_length"),
        "index kind": manifest.get("kind"),
        "knobs": manifest.get("knobs") or "-",
        "chunks": manifest.get("n_chunks"),
        "meetings": manifest.get("n_meetings"),
        "version": manifest.get("version") or index.get("version"),
        "vectors reused": index.get("reused_vectors", False),
        "cached (nothing to do)": manifest.get("cached", False),
    }
    for key, value in (manifest.get("timings") or {}).items():
        rows[f"timing: {key}"] = value
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))


def meetings_table(retriever: Retriever) -> "pd.DataFrame":
    """Indexed meetings per split and domain."""
    import pandas as pd

    df = pd.DataFrame(retriever.meetings())
    return df.groupby(["split", "domain"]).agg(meetings=("meeting_id", "count"), chunks=("chunks", "sum"),
                                               utterances=("utterances", "sum"))


def compare_hits(retriever: Retriever, query: dict[str, Any], k: int = 5,
                 methods: Sequence[str] = METHODS, excerpt: int = 90) -> "pd.DataFrame":
    """The top-k chunks of each ranker for one query within its meeting, marked against gold."""
    import pandas as pd

    gold = metrics.gold_utterances(query["spans"])
    rows = []
    for method in methods:
        for h in retriever.search(query["query"], k, meeting_id=query["meeting_id"], method=method):
            rows.append({"method": method, "rank": h["rank"], "chunk": h["chunk_id"],
                         "utterances": f"{h['utt_start']}-{h['utt_end']}", "score": round(h["score"], 4),
                         "gold": "yes" if metrics.is_relevant(h, query["meeting_id"], gold) else "",
                         "text": " ".join(h["text"].split())[:excerpt]})
    return pd.DataFrame(rows).set_index(["method", "rank"])


def latency(retriever: Retriever, texts: Sequence[str], k: int = 10, meeting_ids: Sequence[str | None] | None = None,
            methods: Sequence[str] = METHODS) -> "pd.DataFrame":
    """Per method: p50/p95 milliseconds of one search call (query embedding included)."""
    import numpy as np
    import pandas as pd

    rows = []
    mids = list(meeting_ids) if meeting_ids is not None else [None] * len(texts)
    retriever.search(texts[0], k)  # load the embedder and BM25 outside the timing
    retriever.search(texts[0], k, method="bm25")
    for method in methods:
        times = []
        for text, mid in zip(texts, mids):
            retriever.clear_query_cache()
            t0 = time.perf_counter()
            retriever.search(text, k, meeting_id=mid, method=method)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append({"method": method, "queries": len(times), "p50_ms": round(float(np.percentile(times, 50)), 2),
                     "p95_ms": round(float(np.percentile(times, 95)), 2)})
    return pd.DataFrame(rows).set_index("method")
