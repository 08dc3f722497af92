"""Retrieval evaluation on QMSum specific queries (gold turn spans): dense vs BM25 vs hybrid,
within the query's meeting and across the whole corpus, per domain, recall vs budget.

Budget is measured in words: the share of the meeting's words inside the retrieved chunks.
`evaluate_cached` reuses an earlier run's rows when nothing they depend on changed (the index
version's data, the queries and their gold weights, the index parameters, the code and the
libraries), so a re-run of 20_index with nothing new costs seconds. `save` also records the best method per setting in the evaluated index version's manifest, which
is what the service's `retrieval_method: auto` serves.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from minutes import schema
from minutes.cache import code_version, hash_params, hash_path, memoized
from minutes.index import metrics, store
from minutes.index.retriever import METHODS, SETTINGS, Retriever
from minutes.io import atomic_path, read_jsonl, write_json

if TYPE_CHECKING:
    import pandas as pd

    from minutes.config import Params

log = logging.getLogger(__name__)
METRICS_FILE = "retrieval_metrics.json"
#: Equal recall and MRR: the cheaper method wins (BM25 needs no query embedding, hybrid needs both).
COST_ORDER = ("bm25", "dense", "hybrid")
#: QMSum's locator on its test split (Zhong et al. 2021, Table 4).
QMSUM_LOCATOR = {"recall": 0.35, "budget": 0.29, "span_touch": 0.87}
#: Where evaluate_cached keeps its results (inside the index stage folder).
EVAL_CACHE = "eval-cache"
#: The code an evaluation result depends on (packages and modules, hashed by code_version).
EVAL_CODE = ("minutes.index", "minutes.text", "minutes.schema")
#: The files of a version that hold its data (its manifest gains annotations; it is not data).
VERSION_DATA = (store.INDEX_FILE, store.VECTORS_FILE, store.CHUNKS_FILE, store.LEGACY_CHUNKS_FILE, store.BM25_DIR)


def load_queries(params: "Params", split: str, kind: str = "specific") -> list[dict[str, Any]]:
    path = params.stage_dir("etl") / schema.QUERIES
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no queries (run notebook 10_etl first)")
    rows = [q for q in read_jsonl(path) if q.get("split") == split and q.get("kind") == kind]
    for q in rows:
        if kind == "specific" and not q.get("spans"):
            raise ValueError(f"{path}: specific query {q.get('query_id')!r} has no gold spans")
    return rows


def utterance_weights(params: "Params", meeting_ids: set[str]) -> dict[str, list[float]]:
    """Words per utterance for each meeting (the transcript budget's unit)."""
    path = params.stage_dir("etl") / schema.UTTERANCES
    sizes: dict[str, dict[int, float]] = defaultdict(dict)
    with path.open(encoding="utf-8") as fh:
        import json

        for line in fh:
            u = json.loads(line)
            if u["meeting_id"] in meeting_ids:
                sizes[u["meeting_id"]][int(u["idx"])] = float(len(str(u["text"]).split()))
    out = {}
    for m, d in sizes.items():
        w = [0.0] * (max(d) + 1)
        for i, v in d.items():
            w[i] = v
        out[m] = w
    return out


def relevant_counts(chunks: "pd.DataFrame", queries: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Per query: chunks of its meeting overlapping its gold utterances (nDCG's ideal)."""
    groups = {m: g[["utt_start", "utt_end"]].to_numpy() for m, g in chunks.groupby("meeting_id")}
    out = {}
    for q in queries:
        gold = metrics.gold_utterances(q["spans"])
        rng = groups.get(q["meeting_id"], [])
        out[q["query_id"]] = sum(1 for s, e in rng if any(u in gold for u in range(int(s), int(e) + 1)))
    return out


def all_ks(params: "Params") -> list[int]:
    """Every k the evaluation scores: the table's ks plus the budget curve's."""
    return sorted(set(params.index.eval_ks) | set(params.index.budget_ks))


def evaluate(retriever: Retriever, queries: Sequence[dict[str, Any]], weights: dict[str, list[float]],
             ks: Sequence[int], methods: Sequence[str] = METHODS, settings: Sequence[str] = SETTINGS,
             progress: bool = True, label: str = "") -> "pd.DataFrame":
    """One row per (method, setting, query) with every metric at every k."""
    import pandas as pd

    known = {m["meeting_id"] for m in retriever.meetings()}
    queries = [q for q in queries if q["meeting_id"] in known and q["meeting_id"] in weights]
    if not queries:
        raise ValueError("no evaluation query has its meeting in the index")
    depth = max(ks)
    n_rel = relevant_counts(retriever.chunks(), queries)
    texts = [q["query"] for q in queries]
    rows = []
    for method in methods:
        for setting in settings:
            mids = [q["meeting_id"] for q in queries] if setting == "within" else None
            hits = retriever.search_many(texts, k=depth, meeting_ids=mids, method=method, progress=progress)
            for q, h in zip(queries, hits):
                m = metrics.query_metrics(h, q["meeting_id"], q["spans"], weights[q["meeting_id"]], ks,
                                          n_rel[q["query_id"]])
                rows.append({"label": label, "method": method, "setting": setting, "query_id": q["query_id"],
                             "meeting_id": q["meeting_id"], "domain": q["domain"], **m})
    return pd.DataFrame(rows)


def evaluation_parts(params: "Params", retriever: Retriever, queries: Sequence[dict[str, Any]],
                     weights: dict[str, list[float]], ks: Sequence[int], what: str) -> dict[str, Any]:
    """Everything an evaluation of `retriever` on `queries` depends on, as hashes (memo key)."""
    folder = params.stage_dir("index") / retriever.version
    return {"what": what, "index_data": {name: hash_path(folder / name) for name in VERSION_DATA},
            "index_params": hash_params(params.index), "queries": hash_params(list(queries)),
            "weights": hash_params(weights), "ks": [int(k) for k in ks], "code": code_version(EVAL_CODE)}


def evaluate_cached(params: "Params", retriever: Retriever, queries: Sequence[dict[str, Any]],
                    weights: dict[str, list[float]], ks: Sequence[int]) -> tuple["pd.DataFrame", dict[str, Any]]:
    """`evaluate` over every method and setting, reused when its inputs are unchanged;
    returns (rows, info) where info says whether it was reused and when it was computed."""
    parts = evaluation_parts(params, retriever, queries, weights, ks, "evaluate")
    return memoized(params.stage_dir("index") / EVAL_CACHE, "evaluate", parts,
                    lambda: evaluate(retriever, queries, weights, ks))


def cache_note(info: dict[str, Any], what: str) -> str:
    """One line for the notebook: reused (and from when) or computed (and how long it took)."""
    if info["cached"]:
        return (f"{what}: inputs unchanged, reused the result computed {info['computed_at']} "
                f"(it took {info['compute_s']:.0f} s; key {info['key']})")
    return f"{what}: computed in {info['compute_s']:.1f} s (stored under key {info['key']})"


def summary(per_query: "pd.DataFrame", ks: Sequence[int], by: Sequence[str] = ("method", "setting")) -> "pd.DataFrame":
    """Mean of the headline metrics per group (a table people read)."""
    cols = [c for k in ks for c in (f"hit@{k}", f"recall@{k}", f"budget@{k}")]
    cols += ["mrr", "ndcg@10", f"span_touch@{max(ks)}", "meeting@1"]
    out = per_query.groupby(list(by))[cols].mean()
    out.insert(0, "queries", per_query.groupby(list(by)).size())
    return out.round(4)


def by_domain(per_query: "pd.DataFrame", k: int = 10,
              cols: Sequence[str] = ("hit@{k}", "recall@{k}", "mrr", "ndcg@10")) -> "pd.DataFrame":
    """Per domain, setting and method: the headline metrics at `k` (QMSum's three domains differ
    a lot: committee transcripts are long and formal, product meetings short and chatty)."""
    names = [c.format(k=k) for c in cols]
    out = per_query.groupby(["domain", "setting", "method"])[names].mean()
    out.insert(0, "queries", per_query.groupby(["domain", "setting", "method"]).size())
    return out.round(4)


def budget_curve(per_query: "pd.DataFrame", ks: Sequence[int], setting: str = "within") -> "pd.DataFrame":
    """Mean recall and budget at each k per method (the recall-vs-budget plot's points)."""
    import pandas as pd

    sub = per_query[per_query["setting"] == setting]
    rows = []
    for method, g in sub.groupby("method"):
        for k in ks:
            if f"recall@{k}" in g:
                rows.append({"method": method, "k": k, "recall": g[f"recall@{k}"].mean(),
                             "budget": g[f"budget@{k}"].mean(), "span_touch": g[f"span_touch@{k}"].mean()})
    return pd.DataFrame(rows)


def locator_comparison(curve: "pd.DataFrame") -> "pd.DataFrame":
    """Per method: the smallest k whose recall beats QMSum's locator, at what budget, and the
    recall reached at the locator's budget (interpolated)."""
    import numpy as np
    import pandas as pd

    rows = []
    for method, g in curve.sort_values("k").groupby("method"):
        beat = g[g["recall"] >= QMSUM_LOCATOR["recall"]]
        first = beat.iloc[0] if len(beat) else None
        rec_at = float(np.interp(QMSUM_LOCATOR["budget"], g["budget"], g["recall"])) \
            if g["budget"].max() >= QMSUM_LOCATOR["budget"] else float("nan")
        rows.append({"method": method,
                     "k_to_beat_locator_recall": int(first["k"]) if first is not None else None,
                     "budget_at_that_k": round(float(first["budget"]), 4) if first is not None else None,
                     "span_touch_at_that_k": round(float(first["span_touch"]), 4) if first is not None else None,
                     "recall_at_locator_budget": round(rec_at, 4)})
    return pd.DataFrame(rows).set_index("method")


def headline(per_query: "pd.DataFrame", k: int = 10) -> dict[str, float]:
    """Flat figures for ctx.record / MLflow: e.g. dense_within_recall@10."""
    out: dict[str, float] = {}
    for (method, setting), g in per_query.groupby(["method", "setting"]):
        for col in (f"hit@{k}", f"recall@{k}", f"span_touch@{k}", f"budget@{k}", "mrr", "ndcg@10",
                    "meeting@1"):
            if setting == "within" and col == "meeting@1":
                continue
            out[f"{method}_{setting}_{col}"] = round(float(g[col].mean()), 4)
    return out


def best_methods(per_query: "pd.DataFrame", k: int = 10) -> dict[str, Any]:
    """Per setting, the method with the highest mean recall@k (then MRR, then the cheaper one),
    with the figures it was chosen on: what `retrieval_method: auto` serves."""
    col = f"recall@{k}"
    chosen: dict[str, str] = {}
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for setting, g in per_query.groupby("setting", sort=False):
        means = g.groupby("method")[[col, "mrr"]].mean()
        figures[str(setting)] = {str(m): {col: round(float(r[col]), 4), "mrr": round(float(r["mrr"]), 4)}
                                 for m, r in means.iterrows()}
        rank = sorted(means.index, key=lambda m: (-means.loc[m, col], -means.loc[m, "mrr"],
                                                  COST_ORDER.index(m) if m in COST_ORDER else len(COST_ORDER)))
        chosen[str(setting)] = str(rank[0])
    return {"methods": chosen, "metric": col, "tie_breaks": ["mrr", "cost: " + " < ".join(COST_ORDER)],
            "figures": figures}


def plot_budget(curve: "pd.DataFrame", ax: Any = None) -> Any:
    """Recall vs budget per method, with QMSum's locator as a reference point."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for method, g in curve.sort_values("k").groupby("method"):
        ax.plot(g["budget"] * 100, g["recall"] * 100, marker="o", label=method)
        for _, r in g.iterrows():
            if r["k"] in (1, 5, 10):
                ax.annotate(f"k={int(r['k'])}", (r["budget"] * 100, r["recall"] * 100), fontsize=7,
                            textcoords="offset points", xytext=(3, -8))
    ax.scatter([QMSUM_LOCATOR["budget"] * 100], [QMSUM_LOCATOR["recall"] * 100], marker="*", s=150,
               color="black", label="QMSum locator", zorder=5)
    ax.set_xlabel("transcript budget (% of the meeting's words)")
    ax.set_ylabel("gold-utterance recall (%)")
    ax.set_title("Within-meeting retrieval: recall vs budget")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def locator_figures(locator: "pd.DataFrame") -> dict[str, float]:
    """Flat figures from `locator_comparison` (NaN/None dropped): e.g. dense_within_k_to_beat_locator."""
    import math

    out: dict[str, float] = {}
    names = {"k_to_beat_locator_recall": "k_to_beat_locator", "budget_at_that_k": "budget_to_beat_locator",
             "span_touch_at_that_k": "span_touch_to_beat_locator",
             "recall_at_locator_budget": "recall_at_locator_budget"}
    for method, row in locator.iterrows():
        for col, name in names.items():
            v = row.get(col)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                out[f"{method}_within_{name}"] = float(v)
    return out


def results(params: "Params", per_query: "pd.DataFrame", curve: "pd.DataFrame", locator: "pd.DataFrame",
            index_manifest: dict[str, Any], onnx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything retrieval_metrics.json holds: `headline` (flat figures that notebook 40 reads),
    the tables behind them, what index was evaluated, and the int8 comparison when it ran."""
    ks = all_ks(params)
    head = {**headline(per_query, 10 if 10 in ks else max(ks)), **locator_figures(locator)}
    if onnx:
        head.update(onnx["figures"])
    tables = {
        "summary": summary(per_query, params.index.eval_ks).reset_index().to_dict("records"),
        "by_domain": by_domain(per_query, 10 if 10 in ks else max(ks)).reset_index().to_dict("records"),
        "budget_curve": curve.round(4).to_dict("records"),
        "locator_comparison": locator.reset_index().to_dict("records"),
    }
    keys = ("version", "kind", "knobs", "embedding_model", "backend", "dim", "max_seq_length",
            "model_fingerprint", "metric", "n_chunks", "n_meetings", "data_hash")
    best = best_methods(per_query, 10 if 10 in ks else max(ks))
    return {"split": params.index.eval_split, "query_kind": "specific",
            "n_queries": int(per_query["query_id"].nunique()), "ks": ks, "best_methods": best,
            "budget_unit": "words of the meeting's transcript", "qmsum_locator": QMSUM_LOCATOR,
            "headline": head, **tables,
            "index": {k: index_manifest.get(k) for k in keys},
            "backends": {k: v for k, v in (onnx or {}).items() if k in ("figures", "speed", "cosine")} or None}


def save_plot(params: "Params", figure: Any, name: str = "recall_vs_budget.png") -> Path:
    """Save a matplotlib figure into the index stage folder (atomically); returns the path."""
    path = params.stage_dir("index") / name
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return path


def save(params: "Params", result: dict[str, Any]) -> Path:
    """Write retrieval_metrics.json into the index stage dir (notebook 40 reads it), and the best
    method per setting into the manifest of the index version that was evaluated."""
    path = write_json(params.stage_dir("index") / METRICS_FILE, result)
    record_best_methods(params, result)
    return path


def record_best_methods(params: "Params", result: dict[str, Any]) -> dict[str, str] | None:
    """Annotate the evaluated version's manifest with `results`' best methods (store.BEST_METHODS);
    None when the result has none or that version is gone (an add replaced it since)."""
    best, version = result.get("best_methods"), (result.get("index") or {}).get("version")
    if not best or not version:
        return None
    settings = {s: m for s, m in best["methods"].items() if s in SETTINGS and m in METHODS}
    basis = {k: best[k] for k in ("metric", "tie_breaks", "figures")}
    try:
        store.annotate(params.stage_dir("index"), version, {
            store.BEST_METHODS: settings,
            f"{store.BEST_METHODS}_measured": {**basis, "split": result.get("split"),
                                               "n_queries": result.get("n_queries")}})
    except FileNotFoundError:
        log.warning("index version %s is gone; its best methods were not recorded", version)
        return None
    return settings


def log_mlflow(params: "Params", figures: dict[str, float], artifacts: Sequence[Path] = (),
               run_name: str = "20_index") -> str:
    """Log parameters, figures and artifacts as a run of the `index.mlflow_experiment`
    experiment on the profile's tracking server; returns the run id."""
    import mlflow

    from minutes.platform.mlflow_server import ensure_server

    mlflow.set_tracking_uri(ensure_server(params))
    name = params.index.mlflow_experiment
    exp = mlflow.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp is not None else mlflow.create_experiment(name)
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
        mlflow.set_tag("stage", "index")
        mlflow.log_params({f"index.{k}": v for k, v in params.index.model_dump(mode="json").items()
                           if not isinstance(v, (list, dict))})
        mlflow.log_metrics({k.replace("@", "_at_"): float(v) for k, v in figures.items()
                            if isinstance(v, (int, float))})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        return run.info.run_id
