"""What notebook 50 keeps of a deploy: the load-test figures and plot in the serve stage folder,
and an MLflow run in `serve.mlflow_experiment` with the same figures."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from minutes.config import Params
from minutes.io import write_json
from minutes.serve.loadtest import LoadReport, figures

LOADTEST_JSON = "loadtest.json"
LOADTEST_PNG = "loadtest.png"


def save(params: Params, reports: Sequence[LoadReport], fig: Any, extra: dict[str, Any] | None = None) -> list[Path]:
    """Write loadtest.json (summaries + figures) and loadtest.png atomically; returns the paths."""
    from minutes.io import atomic_path

    d = params.stage_dir("serve")
    body = {"summaries": [r.summary() for r in reports], "figures": figures(reports), **(extra or {})}
    paths = [write_json(d / LOADTEST_JSON, body)]
    png = d / LOADTEST_PNG
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return [*paths, png]


def log_mlflow(params: Params, figs: dict[str, Any], artifacts: Sequence[Path] = (), tags: dict[str, str] | None = None) -> str:
    """One run of the deploy experiment with the serve parameters, figures and artifacts."""
    import mlflow

    from minutes.platform.mlflow_server import ensure_server

    mlflow.set_tracking_uri(ensure_server(params))
    exp = mlflow.get_experiment_by_name(params.serve.mlflow_experiment)
    exp_id = exp.experiment_id if exp is not None else mlflow.create_experiment(params.serve.mlflow_experiment)
    with mlflow.start_run(experiment_id=exp_id, run_name="50_deploy") as run:
        mlflow.set_tags({"stage": "deploy", **(tags or {})})
        flat = {f"serve.{k}": v for k, v in params.serve.model_dump(mode="json").items() if not isinstance(v, (dict, list))}
        flat.update({f"serve.loadtest.{k}": v for k, v in params.serve.loadtest.model_dump(mode="json").items()})
        mlflow.log_params(flat)
        mlflow.log_metrics({k: float(v) for k, v in figs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        for p in artifacts:
            mlflow.log_artifact(str(p))
        return run.info.run_id
