"""The local MLflow server: started once, reused, lean (no GenAI job workers), stopped."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from minutes.config import load_params
from minutes.platform.mlflow_server import ensure_server, local_service, stop_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_cmdlines(pgid: int) -> list[str]:
    """Command lines of the live processes in a group (the server and what it spawned); the
    server is the test's own child, so once stopped it lingers as a zombie until reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return found


@pytest.fixture()
def params(tmp_path: Path):
    p = load_params("ci", [f"work_dir={tmp_path}", f"mlflow.port={_free_port()}"])
    yield p
    stop_server(p)


def test_started_once_reused_and_stopped(params) -> None:
    uri = ensure_server(params)
    assert uri == f"http://127.0.0.1:{params.mlflow.port}" and os.environ["MLFLOW_TRACKING_URI"] == uri
    svc = local_service(params)
    pid = svc.pid()
    assert pid is not None and svc.healthy()
    procs = _group_cmdlines(pid)
    assert any("mlflow" in c and "server" in c for c in procs), procs
    assert not [c for c in procs if "huey" in c or "_job_runner" in c], "GenAI job workers were started"

    assert ensure_server(params) == uri and svc.pid() == pid, "a second call must reuse the running server"
    assert (svc.state_dir / "mlflow.db").is_file()

    assert stop_server(params) is True
    assert svc.pid() is None and not svc.healthy() and not _group_cmdlines(pid)
    assert stop_server(params) is False


def test_a_tracking_uri_set_earlier_in_the_process_is_replaced(params) -> None:
    """An earlier stage's server (since stopped) must not stay the client's target: mlflow's own
    set_tracking_uri outranks MLFLOW_TRACKING_URI, so ensure_server sets both."""
    import mlflow

    mlflow.set_tracking_uri(f"http://127.0.0.1:{_free_port()}")
    uri = ensure_server(params)
    assert mlflow.get_tracking_uri() == uri
    assert mlflow.get_experiment_by_name("Default") is not None
