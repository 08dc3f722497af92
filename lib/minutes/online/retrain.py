"""The retraining trigger: drift or bad feedback starts a pipeline run of 30_train -> 40_evaluate.

`retrain_decision` is the rule (no side effects): retrain when the drift detector's alarm is up,
or when at least `retrain.min_feedback` ratings in the last `retrain.window_s` seconds are
`retrain.max_negative_ratio` or more "down". `retrain_if_needed` applies it: it exports the
users' corrections as a new dataset version (minutes.online.corrections, which 30_train adds to
its training pairs) and runs the stages through minutes.pipeline (papermill, archived under the
runs dir like any run). The new version then goes through 40's gates and, on a pass, to the
canary (minutes.online.canary).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from minutes.config import Params


@dataclass
class RetrainDecision:
    """Whether to retrain, why, and (once acted on) the dataset version and the run it started."""

    retrain: bool
    reasons: list[str]
    drift: bool | None
    drift_statistic: float | None
    ratings: int
    negative_ratio: float | None
    corrections: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> Any:
        """One row per signal (value, threshold, fired?) plus the run it started, for a table."""
        import pandas as pd

        t = self.thresholds
        rows = [{"signal": "drift alarm", "value": self.drift_statistic if self.drift_statistic is not None
                 else self.drift, "threshold": t.get("drift_threshold"), "fired": bool(self.drift)},
                {"signal": "negative feedback ratio", "value": self.negative_ratio,
                 "threshold": f">= {t.get('max_negative_ratio')} over >= {t.get('min_feedback')} ratings "
                              f"({self.ratings} given)",
                 "fired": any(r.startswith("feedback") for r in self.reasons)}]
        if self.corrections is not None:
            rows.append({"signal": "corrections dataset", "value": self.corrections.get("rows"),
                         "threshold": f"version {self.corrections.get('version')}", "fired": None})
        if self.run is not None:
            rows.append({"signal": "pipeline run", "value": self.run.get("run_id"),
                         "threshold": ", ".join(self.run.get("notebooks", [])), "fired": self.run.get("status")})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _drift_fields(drift: Any) -> tuple[bool | None, float | None, Any]:
    """(alarm, statistic, threshold) from a bool, a mapping or an object with those names.

    Accepted spellings: alarm / drift / is_drift for the flag; statistic / mmd for the value;
    threshold for the alarm level (the drift detector's output as it comes)."""
    if drift is None:
        return None, None, None
    if isinstance(drift, bool):
        return drift, None, None

    def get(*names: str) -> Any:
        for n in names:
            if isinstance(drift, Mapping) and n in drift:
                return drift[n]
            if not isinstance(drift, Mapping) and hasattr(drift, n):
                return getattr(drift, n)
        return None

    alarm = get("alarm", "drift", "is_drift")
    stat = get("statistic", "mmd")
    if alarm is None:
        raise ValueError("drift must be a bool or carry an 'alarm' (or 'drift' / 'is_drift') flag")
    return bool(alarm), None if stat is None else float(stat), get("threshold")


def drift_from_prometheus(prom: Any, test: str = "mmd") -> dict[str, Any] | None:
    """The drift detector's latest output as Prometheus scraped it from the services (any
    deployment raising the alarm counts), in the shape `retrain_decision` reads; None before
    any window of questions was tested."""
    alarm = prom.query(f'max(minutes_drift_alarm{{test="{test}"}})')
    if not len(alarm):
        return None
    stat = prom.query(f'max(minutes_drift_statistic{{test="{test}"}})')
    return {"alarm": bool(float(alarm["value"].iloc[0]) >= 1),
            "statistic": float(stat["value"].iloc[0]) if len(stat) else None, "test": test}


def feedback_figures(params: Params, since: float | None = None) -> dict[str, int]:
    """Ratings given since `since` (default: the last `retrain.window_s` seconds) over every
    model version, from the answer log: {"up", "down"}."""
    from minutes.online.answer_log import open_answer_log

    if since is None and params.retrain.window_s > 0:
        since = time.time() - params.retrain.window_s
    log = open_answer_log(params)
    try:
        by_version = log.ratings_by_version(since=since)
    finally:
        log.close()
    return {"up": sum(v["up"] for v in by_version.values()), "down": sum(v["down"] for v in by_version.values())}


def retrain_decision(params: Params, drift: Any = None, feedback: Mapping[str, int] | None = None) -> RetrainDecision:
    """The trigger's rule on a drift output (bool, mapping or object: see _drift_fields) and
    feedback figures ({"up": n, "down": m}; None: read from the answer log)."""
    r = params.retrain
    alarm, stat, level = _drift_fields(drift)
    fb = feedback_figures(params) if feedback is None else {"up": int(feedback.get("up", 0)),
                                                           "down": int(feedback.get("down", 0))}
    ratings = fb["up"] + fb["down"]
    ratio = fb["down"] / ratings if ratings else None
    reasons = []
    if alarm:
        reasons.append("drift alarm" + (f" (statistic {stat:.4g})" if stat is not None else ""))
    if ratio is not None and ratings >= r.min_feedback and ratio >= r.max_negative_ratio:
        reasons.append(f"feedback: {fb['down']} of {ratings} ratings down ({ratio:.0%} >= {r.max_negative_ratio:.0%})")
    return RetrainDecision(bool(reasons), reasons, alarm, stat, ratings, ratio,
                           thresholds={"drift_threshold": level, "max_negative_ratio": r.max_negative_ratio,
                                       "min_feedback": r.min_feedback})


def retrain_if_needed(params: Params, drift: Any = None, feedback: Mapping[str, int] | None = None,
                      overrides: Sequence[str] = (), runs_dir: Path | None = None,
                      notebooks_dir: Path | None = None,
                      run: Callable[..., dict[str, Any]] | None = None) -> RetrainDecision:
    """Decide; when it says retrain, export the corrections (a new dataset version when they
    changed) and run notebooks `retrain.from_stage`..`retrain.to_stage` with this profile and
    `overrides` (plus force=true when `retrain.force`). Returns the decision with the dataset
    manifest and the run's id, status and notebooks. A failed run raises PipelineFailed."""
    from minutes.online.corrections import export_corrections
    from minutes.pipeline.runner import RunRequest, run_pipeline
    from minutes.pipeline.select import NOTEBOOKS_DIR

    decision = retrain_decision(params, drift, feedback)
    if not decision.retrain:
        return decision
    decision.corrections = export_corrections(params)
    extra = ["force=true"] if params.retrain.force else []
    req = RunRequest(profile=params.profile, overrides=(*overrides, *extra), start=params.retrain.from_stage,
                     stop=params.retrain.to_stage, runs_dir=runs_dir, notebooks_dir=notebooks_dir or NOTEBOOKS_DIR)
    record = (run or run_pipeline)(req)
    decision.run = {"run_id": record["run_id"], "status": record["status"],
                    "notebooks": [n["name"] for n in record["notebooks"]],
                    "corrections_version": decision.corrections["version"]}
    return decision
