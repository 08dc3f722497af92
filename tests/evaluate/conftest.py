"""Keep the `evaluate` library's module cache out of ~/.cache (it reads HF_HOME at import), and
share one real MLflow server (on a free loopback port) among the evaluate tests that need one:
starting a server costs 10-60 s on a busy 2-core machine."""
from __future__ import annotations

import os
import socket
import tempfile

import pytest

os.environ.setdefault("HF_HOME", os.path.join(tempfile.gettempdir(), "minutes-tests-hf-home"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_overrides(tmp_path_factory: pytest.TempPathFactory):
    """ci-profile overrides (work dir, runs dir, port) of a running server; stopped at the end."""
    from minutes.config import load_params
    from minutes.platform.mlflow_server import ensure_server, stop_server

    tmp = tmp_path_factory.mktemp("evaluate-mlflow")
    overrides = [f"work_dir={tmp / 'work'}", f"runs_dir={tmp / 'runs'}", f"mlflow.port={free_port()}"]
    params = load_params("ci", overrides)
    try:
        ensure_server(params)
        yield overrides
    finally:
        stop_server(params)
