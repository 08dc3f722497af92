"""40_evaluate end to end, in the steps the notebook shows one by one.

    prepare   -> the split's queries (a stable sample) and the context every system reads
    run       -> each system's predictions (cached per system; see minutes.evaluate.systems)
    score     -> ROUGE per (system, query), through the shipped `evaluate` metric
    gate      -> the decision for the latest registered version (pure, minutes.evaluate.gates)
    promote   -> move the alias on pass (val only: the test split never drives a promotion)
    log       -> metrics.json in the stage folder, and a run in the MLflow "evaluate" experiment

Products live in <work_dir>/evaluate/<split>/ so val and test never overwrite each other.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from minutes.cache import Stage
from minutes.config import Params
from minutes.evaluate import dataset, gates, systems
from minutes.evaluate.scoring import ROUGE_TYPES
from minutes.io import read_jsonl, write_json, write_jsonl

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
CONTEXTS = "contexts.jsonl"
METRICS = "metrics.json"
SCORES = "scores.csv"
GATE_SPLITS = ("val",)


@dataclass
class Prepared:
    """What every system is scored on: the queries and their retrieved context."""

    split: str
    dir: Path
    contexts: list[dict[str, Any]]
    contexts_path: Path
    words: dict[str, int]
    retrieval: dict[str, Any]
    split_queries: int
    from_cache: bool = False

    def table(self) -> "pd.DataFrame":
        """Queries per domain and kind (the slices the report uses)."""
        import pandas as pd

        df = pd.DataFrame([{"domain": c.get("domain", "Other"), "kind": c["kind"]} for c in self.contexts])
        if df.empty:
            return df
        return df.groupby(["domain", "kind"]).size().unstack(fill_value=0)


def stage_dir(params: Params, split: str | None = None) -> Path:
    d = params.stage_dir("evaluate") / (split or params.evaluate.split)
    d.mkdir(parents=True, exist_ok=True)
    return d


def prepare(params: Params, split: str | None = None) -> Prepared:
    """Sample the split's queries and retrieve their context once (cached in contexts.jsonl)."""
    split = split or params.evaluate.split
    queries = dataset.load_split_queries(params, split)
    picked = dataset.sample(queries, params.evaluate.max_queries)
    settings = dataset.retrieval_settings(params)
    paths = dataset.etl_paths(params)
    words = dataset.typical_answer_words(params)
    d = stage_dir(params, split)
    stage = Stage(d / "contexts", {"split": split, "queries": [q["query_id"] for q in picked], **settings},
                  inputs={"queries": paths["queries"], "chunks": paths["chunks"],
                          "index": params.stage_dir("index") / "CURRENT"},
                  force=params.force)
    out = stage.dir / CONTEXTS
    cached = stage.is_current()
    if cached:
        contexts = read_jsonl(out)
    else:
        stage.begin()
        chunks = dataset.load_chunks_by_meeting(params, {q["meeting_id"] for q in picked})
        retrieve = dataset.retriever_search(params)
        contexts = dataset.build_contexts(picked, chunks, retrieve, settings["k"])
        for c in contexts:  # queries.jsonl may lack the domain; the meeting's chunks know it
            c.setdefault("domain", (chunks[c["meeting_id"]][0].get("domain") or "Other"))
        write_jsonl(out, contexts)
        stage.finish([CONTEXTS], counts={"queries": len(contexts), "dropped": len(picked) - len(contexts)},
                     extra={"index_version": getattr(retrieve, "index_version", None)})
    if not contexts:
        raise dataset.EvaluationDataMissing(
            f"none of the {len(picked)} sampled {split} queries has chunks in {paths['chunks']}; "
            "re-run notebooks 10_etl and 20_index")
    return Prepared(split, d, contexts, out, words, settings, len(queries), cached)


@dataclass
class Results:
    """Predictions of every system, and where they came from."""

    systems: list[systems.System]
    predictions: dict[str, list[dict[str, Any]]]
    registry: dict[str, Any]
    cached: dict[str, bool] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        return {s.name: s.label for s in self.systems}

    def table(self) -> "pd.DataFrame":
        import pandas as pd

        return pd.DataFrame([{**s.as_dict(), "from cache": self.cached.get(s.name, False),
                              "answers": len(self.predictions.get(s.name, []))} for s in self.systems]
                            ).set_index("name")


def run_systems(params: Params, prep: Prepared, registry: Mapping[str, Any] | None = None) -> Results:
    """Predictions of the extractive baseline, the base generator and the registered versions."""
    state = dict(registry) if registry is not None else systems.registry_state(params)
    planned = systems.plan(params, state)
    predictions: dict[str, list[dict[str, Any]]] = {}
    cached: dict[str, bool] = {}
    for system in planned:
        log.info("evaluate: %s", system.label)
        predictions[system.name], cached[system.name] = systems.predict(
            params, system, prep.contexts, prep.contexts_path, prep.dir, prep.words)
    return Results(planned, predictions, state, cached)


def score(prep: Prepared, results: Results, rouge: Any = None, hf_home: Path | None = None) -> "pd.DataFrame":
    """ROUGE per (system, query) in points; also written to scores.csv."""
    from minutes.evaluate.report import scores_frame
    from minutes.evaluate.scoring import load_rouge
    from minutes.io import atomic_path

    rouge = rouge or load_rouge(hf_home)
    frame = scores_frame(prep.contexts, results.predictions, rouge, results.labels)
    with atomic_path(prep.dir / SCORES, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def _mean(scores: "pd.DataFrame", system: str, metric: str) -> float | None:
    rows = scores[scores["system"] == system]
    return float(rows[metric].mean()) if len(rows) else None


def _recorded_score(params: Params, version: str, metric: str) -> float | None:
    """A version's score from the tag its own gate run left (used when it is not re-scored)."""
    from minutes.evaluate import promotion

    tags = promotion.client(params).get_model_version(params.train.registered_model, version).tags
    alias = params.evaluate.alias
    if tags.get(f"gate.{alias}.metric") == metric and tags.get(f"gate.{alias}.score"):
        return float(tags[f"gate.{alias}.score"])
    return None


def decide(params: Params, scores: "pd.DataFrame", results: Results) -> gates.GateDecision:
    """The gates applied to the latest registered version against the baseline and the promoted one."""
    g = params.evaluate.gates
    state = results.registry
    latest, promoted = state.get("latest"), state.get("promoted")
    extractive = _mean(scores, systems.EXTRACTIVE.name, g.metric)
    if extractive is None:
        raise ValueError("the extractive baseline has no scores; nothing to compare against")
    candidate_score = _mean(scores, f"lora-v{latest}", g.metric) if latest else None
    promoted_score = None
    if promoted is not None and promoted != latest:
        promoted_score = _mean(scores, f"lora-v{promoted}", g.metric)
        if promoted_score is None:
            promoted_score = _recorded_score(params, promoted, g.metric)
        if promoted_score is None:
            raise ValueError(f"version {promoted} holds {params.evaluate.alias!r} but was not scored and has "
                             f"no recorded {g.metric}; set evaluate.include_promoted=true")
    return gates.decide(latest, candidate_score, extractive, g, promoted, promoted_score)


def apply(params: Params, decision: gates.GateDecision, split: str) -> dict[str, Any]:
    """Move the alias on pass (val only); with evaluate.promote_to_production, also production."""
    from minutes.evaluate import promotion

    alias = params.evaluate.alias
    if split not in GATE_SPLITS:
        return {"alias": alias, "passed": decision.passed, "moved": False, "version": None, "previous": None,
                "note": f"gates are applied on {'/'.join(GATE_SPLITS)} only; {split} is reported, not acted on"}
    out = promotion.apply_decision(params, decision, alias)
    if params.evaluate.promote_to_production and out.get("version"):
        out["production"] = promotion.promote(params, out["version"], params.evaluate.production_alias,
                                              why=f"promote_to_production after {alias} gate")
    return out


def figures(scores: "pd.DataFrame", decision: gates.GateDecision, action: Mapping[str, Any],
            split: str) -> dict[str, Any]:
    """Flat key figures for run.json and MLflow: per system and per domain, plus the decision."""
    out: dict[str, Any] = {"split": split, "queries": int(scores["query_id"].nunique()) if len(scores) else 0}
    for system, g in scores.groupby("system", sort=False):
        for metric in ROUGE_TYPES:
            out[f"{system}.{metric}"] = round(float(g[metric].mean()), 3)
        if "groundedness" in g and g["groundedness"].notna().any():  # share of supported sentences
            out[f"{system}.groundedness"] = round(float(g["groundedness"].mean()), 3)
        for domain, gd in g.groupby("domain"):
            out[f"{system}.{domain}.rougeLsum"] = round(float(gd["rougeLsum"].mean()), 3)
        for kind, gk in g.groupby("kind"):
            out[f"{system}.{kind}.rougeLsum"] = round(float(gk["rougeLsum"].mean()), 3)
    out.update({"gate_passed": decision.passed, "gate_candidate": decision.candidate,
                "gate_reason": decision.reason, "gate_metric": decision.metric,
                "alias": action.get("alias"), "alias_version": action.get("version"),
                "alias_moved": bool(action.get("moved"))})
    return out


def save_metrics(prep: Prepared, results: Results, scores: "pd.DataFrame", decision: gates.GateDecision,
                 action: Mapping[str, Any], quality: "pd.DataFrame | None" = None) -> Path:
    """metrics.json: everything the report shows, for the service, CI and later comparisons."""
    from minutes.evaluate.report import domain_kind_table, summary_table

    summary = summary_table(scores)
    payload = {
        "split": prep.split, "queries": len(prep.contexts), "split_queries": prep.split_queries,
        "retrieval": prep.retrieval, "extractive_words": prep.words,
        "systems": [s.as_dict() for s in results.systems], "registry": results.registry,
        "summary": summary.reset_index().to_dict("records"),
        "by_domain": domain_kind_table(scores).reset_index().to_dict("records"),
        "by_kind": scores.groupby(["system", "kind"])[list(ROUGE_TYPES)].mean().round(3)
                         .reset_index().to_dict("records"),
        "gate": decision.as_dict(), "action": dict(action),
        "quality": None if quality is None else [
            {"part": p, "figure": f, **{k: v for k, v in row.items()}}
            for (p, f), row in quality.iterrows()],
    }
    return write_json(prep.dir / METRICS, _finite(payload))


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (strict JSON readers reject them), numpy becomes Python."""
    import math

    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def log_mlflow(params: Params, prep: Prepared, results: Results, figs: Mapping[str, Any],
               decision: gates.GateDecision, artifacts: Sequence[Path] = ()) -> str:
    """One run in the evaluate experiment: parameters, every figure, the decision, the artifacts."""
    import mlflow

    from minutes.platform.mlflow_server import ensure_server

    mlflow.set_tracking_uri(ensure_server(params))
    name = params.evaluate.mlflow_experiment
    exp = mlflow.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp is not None else mlflow.create_experiment(name)
    with mlflow.start_run(experiment_id=exp_id, run_name=f"40_evaluate-{prep.split}") as run:
        mlflow.set_tags({"stage": "evaluate", "split": prep.split, "gate.passed": str(decision.passed).lower(),
                         "gate.reason": decision.reason[:5000], "gate.candidate": str(decision.candidate),
                         "registered_model": params.train.registered_model,
                         "systems": ",".join(s.name for s in results.systems)})
        mlflow.log_params({"split": prep.split, "queries": len(prep.contexts),
                           "max_queries": params.evaluate.max_queries, **{f"retrieval.{k}": v for k, v in
                                                                          prep.retrieval.items()},
                           **{f"gates.{k}": v for k, v in params.evaluate.gates.model_dump().items()},
                           **{f"extractive_words.{k}": v for k, v in prep.words.items()}})
        mlflow.log_metrics({_metric_key(k): float(v) for k, v in figs.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool)})
        mlflow.log_metric("gate_passed", float(decision.passed))
        mlflow.log_dict(decision.as_dict(), "gate_decision.json")
        for path in artifacts:
            if Path(path).is_file():
                mlflow.log_artifact(str(path))
        return run.info.run_id


def _metric_key(key: str) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces only."""
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in key)
