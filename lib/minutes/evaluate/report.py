"""Tables and plots of 40_evaluate, and the one-page view of the whole system's quality.

ROUGE is in points. "R-L" beside published QMSum figures is our rougeLsum (one sentence per
line), the variant those papers report; plain rougeL is kept in the full tables.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from minutes import schema
from minutes.evaluate.scoring import ROUGE_TYPES
from minutes.io import read_json

if TYPE_CHECKING:
    import pandas as pd

    from minutes.config import Params

#: QMSum (Zhong et al., NAACL 2021), test split, ROUGE-1/2/L.
PUBLISHED_QMSUM_TEST = {
    "Random": (12.0, 1.3, 11.8),
    "TextRank": (16.3, 2.7, 15.4),
    "BART + locator": (31.7, 8.5, 28.2),
    "HMNet + locator": (32.3, 8.7, 28.2),
    "HMNet + gold spans": (36.1, 11.4, 31.3),
}
SHORT = {"rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L (plain)", "rougeLsum": "R-Lsum"}


def scores_frame(contexts: Sequence[Mapping[str, Any]], predictions: Mapping[str, Sequence[Mapping[str, Any]]],
                 rouge: Any, labels: Mapping[str, str] | None = None) -> "pd.DataFrame":
    """One row per (system, query): slices, the answer, and ROUGE in points."""
    import pandas as pd

    from minutes.answer.attribution import groundedness
    from minutes.evaluate.scoring import per_example

    by_id = {c["query_id"]: c for c in contexts}
    frames = []
    for system, rows in predictions.items():
        rows = [r for r in rows if r["query_id"] in by_id]
        refs = [by_id[r["query_id"]]["answer"] for r in rows]
        preds = [r["prediction"] for r in rows]
        scores = per_example(rouge, preds, refs)
        df = pd.DataFrame({
            "system": system, "label": (labels or {}).get(system, system),
            "query_id": [r["query_id"] for r in rows],
            "meeting_id": [by_id[r["query_id"]]["meeting_id"] for r in rows],
            "domain": [by_id[r["query_id"]]["domain"] for r in rows],
            "kind": [by_id[r["query_id"]]["kind"] for r in rows],
            "pred_words": [len(p.split()) for p in preds], "ref_words": [len(t.split()) for t in refs],
            "groundedness": [groundedness(p, by_id[r["query_id"]]["hits"]) for p, r in zip(preds, rows)],
            **scores})
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summary_table(scores: "pd.DataFrame") -> "pd.DataFrame":
    """Mean ROUGE per system (rows in the order systems were scored)."""
    order = list(dict.fromkeys(scores["system"]))
    out = scores.groupby("system")[list(ROUGE_TYPES) + ["pred_words", "groundedness"]].mean().reindex(order)
    out.insert(0, "queries", scores.groupby("system").size().reindex(order))
    return out.rename(columns=SHORT).round(2)


def slice_table(scores: "pd.DataFrame", by: str, metric: str = "rougeLsum") -> "pd.DataFrame":
    """System x slice (domain or kind) table of one metric, with the query count per slice."""
    order = list(dict.fromkeys(scores["system"]))
    table = scores.pivot_table(index="system", columns=by, values=metric, aggfunc="mean").reindex(order)
    counts = scores[scores["system"] == order[0]].groupby(by).size()
    table.columns = [f"{c} (n={counts.get(c, 0)})" for c in table.columns]
    table["all"] = scores.groupby("system")[metric].mean().reindex(order)
    return table.round(2)


def domain_kind_table(scores: "pd.DataFrame") -> "pd.DataFrame":
    """R-1/R-2/R-Lsum per system and domain: the figures the issue note quotes."""
    out = scores.groupby(["system", "domain"])[["rouge1", "rouge2", "rougeLsum"]].mean()
    out.insert(0, "queries", scores.groupby(["system", "domain"]).size())
    return out.rename(columns=SHORT).round(2)


def published_comparison(scores: "pd.DataFrame", split: str) -> "pd.DataFrame":
    """Published QMSum test figures beside ours, labelled as such (R-L = our rougeLsum)."""
    import pandas as pd

    rows = [{"system": name, "figures": "published, QMSum test", "R-1": r1, "R-2": r2, "R-L": rl, "queries": None}
            for name, (r1, r2, rl) in PUBLISHED_QMSUM_TEST.items()]
    for system, g in scores.groupby("system", sort=False):
        rows.append({"system": f"ours: {g['label'].iloc[0]}", "figures": f"ours, {split} (n={len(g)})",
                     "R-1": g["rouge1"].mean(), "R-2": g["rouge2"].mean(), "R-L": g["rougeLsum"].mean(),
                     "queries": len(g)})
    return pd.DataFrame(rows).set_index("system").round(2)


def plot_comparison(table: "pd.DataFrame") -> Any:
    """Grouped bars of R-1/R-2/R-L: published test figures grey, ours coloured."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(10, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))
    width = 0.27
    published = table["figures"].str.startswith("published").to_numpy()
    for j, (metric, color) in enumerate([("R-1", "tab:blue"), ("R-2", "tab:orange"), ("R-L", "tab:green")]):
        colors = ["lightgrey" if p else color for p in published]
        ax.barh(y + (j - 1) * width, table[metric], height=width, color=colors, edgecolor=color)
    ax.set_yticks(y, [f"{name}\n[{fig_}]" for name, fig_ in zip(table.index, table["figures"])], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ROUGE F1 (points)")
    ax.set_title("Query-based meeting summarization: published QMSum test figures (grey) vs ours")
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=m) for m, c in
               [("R-1", "tab:blue"), ("R-2", "tab:orange"), ("R-L (ours: R-Lsum)", "tab:green")]]
    handles.append(Patch(facecolor="lightgrey", edgecolor="grey", label="published, QMSum test"))
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_slices(scores: "pd.DataFrame", metric: str = "rougeLsum") -> Any:
    """Per-domain and per-kind bars for every system."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    order = list(dict.fromkeys(scores["system"]))
    for ax, by in zip(axes, ("domain", "kind")):
        table = scores.pivot_table(index=by, columns="system", values=metric, aggfunc="mean")[order]
        table.plot.bar(ax=ax, rot=0)
        ax.set_title(f"{SHORT.get(metric, metric)} by {by}")
        ax.set_xlabel("")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("points")
    fig.tight_layout()
    return fig


def context_recall(contexts: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per query: the share of gold utterances inside the context the systems read
    (None for minutes questions, which have no gold spans)."""
    from minutes.index import metrics

    out: dict[str, float | None] = {}
    for c in contexts:
        if c["kind"] != "specific" or not c.get("spans"):
            out[c["query_id"]] = None
            continue
        gold = metrics.gold_utterances(c["spans"])
        out[c["query_id"]] = metrics.recall_at_k(c["hits"], c["meeting_id"], gold, len(c["hits"]))
    return out


def worst_queries(scores: "pd.DataFrame", contexts: Sequence[Mapping[str, Any]],
                  predictions: Mapping[str, Sequence[Mapping[str, Any]]], system: str, n: int,
                  metric: str = "rougeLsum", excerpt_chars: int = 400) -> "pd.DataFrame":
    """The `n` lowest-scoring queries of `system`, with the question, the reference, the answer,
    the gold recall of the context, and the start of each retrieved excerpt."""
    import pandas as pd

    if n <= 0:
        return pd.DataFrame()
    by_id = {c["query_id"]: c for c in contexts}
    answer = {r["query_id"]: r["prediction"] for r in predictions[system]}
    recall = context_recall(contexts)
    worst = scores[scores["system"] == system].nsmallest(n, metric)
    rows = []
    for _, r in worst.iterrows():
        c = by_id[r["query_id"]]
        excerpts = "\n---\n".join(f"[{h['chunk_id']}] " + " ".join(str(h["text"]).split())[:excerpt_chars]
                                  for h in c["hits"])
        rec = recall.get(r["query_id"])
        rows.append({"query_id": r["query_id"], "domain": r["domain"], "kind": r["kind"],
                     SHORT.get(metric, metric): round(float(r[metric]), 2),
                     "gold recall of context": None if rec is None else round(rec, 2),
                     "question": c["query"], "reference": c["answer"], "answer": answer.get(r["query_id"], ""),
                     "retrieved context": excerpts})
    return pd.DataFrame(rows).set_index("query_id")


def side_by_side(scores: "pd.DataFrame", contexts: Sequence[Mapping[str, Any]],
                 predictions: Mapping[str, Sequence[Mapping[str, Any]]], query_ids: Sequence[str],
                 metric: str = "rougeLsum") -> "pd.DataFrame":
    """Every system's answer (and score) to the same queries, beside the reference (which
    carries the question, so it is not repeated on every row)."""
    import pandas as pd

    by_id = {c["query_id"]: c for c in contexts}
    score = {(r["system"], r["query_id"]): r[metric] for _, r in scores.iterrows()}
    rows = []
    for qid in query_ids:
        c = by_id[qid]
        rows.append({"query_id": qid, "system": "reference", "text": c["answer"], SHORT[metric]: None,
                     "question": c["query"]})
        for system, preds in predictions.items():
            text = next((p["prediction"] for p in preds if p["query_id"] == qid), "")
            value = score.get((system, qid))
            rows.append({"query_id": qid, "system": system, "text": text, "question": "",
                         SHORT[metric]: None if value is None else round(float(value), 2)})
    return pd.DataFrame(rows).set_index(["query_id", "system"])[["question", SHORT[metric], "text"]]


def gate_table(decision: Any, action: Mapping[str, Any]) -> "pd.DataFrame":
    """One row per gate check plus the verdict and what happened to the alias (always non-empty)."""
    import pandas as pd

    rows = [{"check": c.name, "passed": c.passed, "value": round(c.value, 2), "threshold": round(c.threshold, 2),
             "detail": c.detail} for c in decision.checks]
    moved = action.get("moved")
    where = action.get("version")
    rows.append({"check": "verdict", "passed": decision.passed, "value": None, "threshold": None,
                 "detail": f"{decision.reason} -> alias {action.get('alias')!r} "
                           + (f"moved to v{where}" if moved else
                              (f"stays on v{where}" if where else "stays unset (service answers extractively)"))
                           + (f" ({action['note']})" if action.get("note") else "")})
    return pd.DataFrame(rows).set_index("check")


# ------------------------------------------------------------------------- whole-system page
def _numbers(obj: Any, prefix: str = "", depth: int = 2) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(obj, Mapping) and depth >= 0:
        for key, value in obj.items():
            name = f"{prefix}{key}"
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)) and math.isfinite(float(value)):
                out[name] = float(value)
            elif isinstance(value, Mapping):
                out.update(_numbers(value, f"{name}.", depth - 1))
    return out


def retrieval_figures(params: "Params") -> tuple[dict[str, float], str]:
    """Headline retrieval metrics from the index stage (retrieval_metrics.json), and a note."""
    path = params.stage_dir("index") / "retrieval_metrics.json"
    if not path.is_file():
        return {}, f"no retrieval metrics at {path} (notebook 20_index writes them)"
    data = read_json(path)
    figures = _numbers(data.get("headline", data)) if isinstance(data, Mapping) else {}
    return figures, f"index/{path.name}"


def wer_figures(params: "Params") -> tuple[dict[str, float], str]:
    """Overall ASR word error rate from the ETL stage (asr_wer.json), and a note."""
    path = params.stage_dir("etl") / schema.ASR_WER
    if not path.is_file():
        return {}, f"no ASR WER at {path} (notebook 10_etl writes it when audio is transcribed)"
    data = read_json(path)
    overall = data.get("overall", {}) if isinstance(data, Mapping) else {}
    figures = _numbers({k: v for k, v in overall.items() if k in ("wer", "rtf", "audio_s", "ref_words")})
    backend = data.get("backend", "?") if isinstance(data, Mapping) else "?"
    return figures, f"etl/{path.name} ({backend}, {len(data.get('meetings', []))} recordings)"


def quality_page(params: "Params", scores: "pd.DataFrame", gate: Mapping[str, Any] | None,
                 retrieval_keys: Sequence[str] = ()) -> "pd.DataFrame":
    """One table of the whole system: speech (WER), retrieval, answer quality, and the gate."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    wer, wer_note = wer_figures(params)
    if wer:
        for key, value in wer.items():
            rows.append({"part": "speech (ASR)", "figure": key, "value": round(value, 4), "source": wer_note})
    else:
        rows.append({"part": "speech (ASR)", "figure": "wer", "value": None, "source": wer_note})
    ret, ret_note = retrieval_figures(params)
    method = str((params.evaluate.retrieval_method or params.train.retrieval_method))
    within = [k for k in ret if "within" in k and any(m in k for m in ("recall@", "hit@", "mrr"))]
    within.sort(key=lambda k: not k.startswith(f"{method}_"))  # the method the systems read first
    keys = list(retrieval_keys) or within[:6] or list(ret)[:6]
    if ret:
        for key in keys:
            if key in ret:
                rows.append({"part": "retrieval", "figure": key, "value": round(ret[key], 4), "source": ret_note})
    else:
        rows.append({"part": "retrieval", "figure": "recall", "value": None, "source": ret_note})
    for system, g in scores.groupby("system", sort=False):
        for metric in ("rouge1", "rouge2", "rougeLsum"):
            rows.append({"part": "answers", "figure": f"{system} {SHORT[metric]}",
                         "value": round(float(g[metric].mean()), 2),
                         "source": f"{params.evaluate.split}, {len(g)} queries"})
    if gate is not None:
        rows.append({"part": "gate", "figure": f"{gate.get('alias', '')} gate",
                     "value": "passed" if gate.get("passed") else "failed", "source": gate.get("reason", "")})
    return pd.DataFrame(rows).set_index(["part", "figure"])


def save_table(table: "pd.DataFrame", path: Path) -> Path:
    """A table as CSV, atomically (an MLflow artifact beside the plots)."""
    from minutes.io import atomic_path

    with atomic_path(path, suffix=".csv") as tmp:
        table.to_csv(tmp)
    return path


def save_figure(fig: Any, path: Path) -> Path:
    from minutes.io import atomic_path

    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip("."))
    return path
