"""The MLflow tracking server: local (sqlite + file artifacts on loopback) or the platform's.

Local profiles start `mlflow server` if none answers on the configured port and reuse it if one
does, so notebooks 02, 30, 40 and 50 share one server. The chameleon profile only points at
the platform's URI.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from minutes.config import Params
from minutes.platform.processes import Service


#: MLflow 3 starts eight huey job workers (~270 MB each) for GenAI jobs we never submit; on a
#: 2-core machine they cost 2 GB and steal CPU from the service's load test.
LOCAL_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def mlflow_dir(params: Params) -> Path:
    return params.stage_dir("mlflow")


def local_service(params: Params) -> Service:
    url = f"http://{params.mlflow.host}:{params.mlflow.port}"
    return Service("mlflow", mlflow_dir(params), f"{url}/health")


def tracking_uri(params: Params) -> str:
    return params.mlflow.tracking_uri or f"http://{params.mlflow.host}:{params.mlflow.port}"


def ensure_server(params: Params, wait_s: float = 120.0) -> str:
    """Make sure a tracking server answers; returns its URI and sets MLFLOW_TRACKING_URI."""
    uri = tracking_uri(params)
    if not params.mlflow.tracking_uri:
        svc = local_service(params)
        d = mlflow_dir(params)
        (d / "artifacts").mkdir(parents=True, exist_ok=True)
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        svc.start([str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{d / 'mlflow.db'}",
                   "--artifacts-destination", str(d / "artifacts"), "--serve-artifacts",
                   "--host", params.mlflow.host, "--port", str(params.mlflow.port), "--workers", "1"],
                  env=LOCAL_SERVER_ENV, wait_s=wait_s)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    if "mlflow" in sys.modules:
        # an explicit set_tracking_uri (ours, earlier in this process) outranks the variable
        sys.modules["mlflow"].set_tracking_uri(uri)
    return uri


def stop_server(params: Params) -> bool:
    """Stop the local server (no-op for a remote tracking URI)."""
    if params.mlflow.tracking_uri:
        return False
    return local_service(params).stop()


def ensure_experiment(params: Params) -> str:
    """Create the experiment in the driver (creating it from Ray trials races); returns its id."""
    import mlflow

    mlflow.set_tracking_uri(ensure_server(params))
    exp = mlflow.get_experiment_by_name(params.mlflow.experiment)
    if exp is not None:
        return exp.experiment_id
    return mlflow.create_experiment(params.mlflow.experiment)
