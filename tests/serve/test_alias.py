"""The model comes from the MLflow registry by alias; promotion and rollback are picked up by the
running service without a restart (real MLflow server, real registered model, real uvicorn)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from minutes.serve.prometheus_text import metric_value
from tests.generate.fixtures import tiny_t5

pytestmark = pytest.mark.slow


def register_tiny_model(params: Any, tmp: Path) -> str:
    """A tiny random T5 (the Flan-T5 code path) registered as a new version; returns it."""
    import mlflow

    from minutes.generate.base import write_model_meta
    from minutes.generate.registry import log_and_register

    model_dir = tiny_t5(tmp / "tiny")
    write_model_meta(model_dir, {"base_model": "tiny-t5", "max_source_tokens": 256, "max_target_tokens": 8})
    mlflow.set_tracking_uri(params.mlflow.tracking_uri or f"http://127.0.0.1:{params.mlflow.port}")
    exp = mlflow.get_experiment_by_name("serve-tests") or mlflow.get_experiment(mlflow.create_experiment("serve-tests"))
    with mlflow.start_run(experiment_id=exp.experiment_id) as run:
        pass
    return log_and_register(params, model_dir, run.info.run_id, {"test": "alias"})


def wait_for(check: Callable[[], Any], timeout_s: float = 120) -> Any:
    deadline = time.time() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.3)


def test_alias_promotion_and_rollback_without_restart(http: httpx.Client, serve_env: dict[str, Any],
                                                      tmp_path: Path) -> None:
    from mlflow import MlflowClient

    params = serve_env["params"]
    pid = serve_env["service"].pid()
    ask = {"question": "What colour will the remote control be?", "meeting_id": "design01"}
    assert http.post("/ask", json=ask).json()["mode"] == "extractive"
    r = http.post("/ask", json={**ask, "mode": "generative"})
    assert r.status_code == 409 and "no model version holds the alias" in r.json()["detail"]

    v1 = register_tiny_model(params, tmp_path)
    v2 = register_tiny_model(params, tmp_path / "second")
    client = MlflowClient(tracking_uri=serve_env["mlflow_uri"])
    name, alias = params.train.registered_model, params.serve.model_alias
    try:
        client.set_registered_model_alias(name, alias, v1)  # promotion
        ready = wait_for(lambda: (b := http.get("/readyz").json())["model_version"] == v1 and b)
        assert ready["mode"] == "generative"
        a = http.post("/ask", json=ask).json()
        assert a["mode"] == "generative" and a["model_version"] == v1 and a["sources"]
        assert http.post("/ask", json={**ask, "mode": "extractive"}).json()["mode"] == "extractive"
        text = http.get("/metrics").text
        assert metric_value(text, "minutes_model_version", alias=alias) == float(v1)

        client.set_registered_model_alias(name, alias, v2)  # a newer version
        wait_for(lambda: http.get("/readyz").json()["model_version"] == v2)
        assert http.post("/ask", json=ask).json()["model_version"] == v2

        client.set_registered_model_alias(name, alias, v1)  # rollback
        wait_for(lambda: http.get("/readyz").json()["model_version"] == v1)
    finally:
        client.delete_registered_model_alias(name, alias)  # no version holds it: extractive again
        wait_for(lambda: http.get("/readyz").json()["model_version"] is None)
    a = http.post("/ask", json=ask).json()
    assert a["mode"] == "extractive" and a["model_version"] is None
    assert serve_env["service"].pid() == pid  # the same process all along


def test_the_registry_read_over_rest_matches_the_mlflow_client(serve_env: dict[str, Any]) -> None:
    """The service polls the alias over MLflow's REST API (no client import, ~110 MB less): it
    must read what the client reads, in every case, and not import the client to do it."""
    import subprocess
    import sys
    import uuid

    from mlflow import MlflowClient

    from minutes.config import load_params
    from minutes.serve.model_watch import _client_version, registry_version

    name = f"rest-probe-{uuid.uuid4().hex[:8]}"
    uri = serve_env["mlflow_uri"]
    client = MlflowClient(tracking_uri=uri)

    def both(ref: str) -> tuple[str | None, str | None]:
        p = load_params("ci", [*serve_env["overrides"], f"train.registered_model={name}", f"serve.model_alias={ref}"])
        return registry_version(p), _client_version(uri, name, ref)

    assert both("probe") == (None, None)  # no such model
    client.create_registered_model(name)
    assert both("probe") == (None, None)  # no version holds the alias
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id)
    versions = [client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id).version
                for _ in range(2)]
    client.set_registered_model_alias(name, "probe", versions[1])
    assert both("probe") == (str(versions[1]), str(versions[1]))
    assert both(str(versions[0])) == (str(versions[0]), str(versions[0]))  # a pinned version
    assert both("99") == (None, None)  # a pinned version that does not exist
    script = ("import sys; from minutes.config import load_params; from minutes.serve.model_watch import registry_version; "
              f"p = load_params('ci', {[*serve_env['overrides'], f'train.registered_model={name}', 'serve.model_alias=probe']!r}); "
              "print(registry_version(p), 'mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(versions[1]), "False"]
