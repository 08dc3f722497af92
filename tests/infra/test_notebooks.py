"""Notebooks 00, 01, 02, 99 are generated, and run under papermill on the ci profile in plan mode."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from minutes import REPO_ROOT
from tests.infra.conftest import SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_plan_mode_notebooks_run_and_leak_no_credential(tmp_path: Path, app_creds, ci_overrides) -> None:
    """With a credential planted in the environment, run 00, 01, 02, then 99: no report holds it."""
    from minutes.cli import main
    from minutes.config import load_params
    from minutes.infra import configure
    from minutes.infra.ansible import localhost_inventory, run_playbook
    from minutes.platform.local_services import status, stop_all
    from minutes.runs import load_run

    overrides = [*ci_overrides, f"mlflow.port={_free_port()}", f"serve.port={_free_port()}", "infra.suffix=alice"]

    def run(only: str) -> int:
        return main(["run", "--profile", "ci", "--only", only, "--runs-dir", str(tmp_path / "runs"),
                     *[a for o in overrides for a in ("-p", o)]])

    params = load_params("ci", overrides)
    try:
        assert run("0,1,2") == 0
        # 02 left MLflow up on loopback; applying the local platform again changes nothing
        assert status(params)["mlflow"]["healthy"]
        again = run_playbook("platform.yml", localhost_inventory(groups=["platform"]),
                             configure.extravars(params, "local", overrides), params)
        assert again.ok and again.stats.get("changed", {}).get("localhost", 0) == 0
        assert run("99") == 0  # teardown stops it
        assert not status(params)["mlflow"]["healthy"]
    finally:
        stop_all(params)
    runs = {len(load_run(d)["notebooks"]): (d, load_run(d)) for d in (tmp_path / "runs").iterdir() if d.is_dir()}
    (run_dir, record), (_, teardown_record) = runs[3], runs[1]
    assert [n["status"] for n in record["notebooks"]] == ["ok"] * 3
    assert [(n["name"], n["status"]) for n in teardown_record["notebooks"]] == [("99_teardown", "ok")]
    html = (run_dir / "00_provision_kvm.html").read_text()
    assert "minutes-kvm-lease-alice" in html and "flavor:instance" in html
    assert "KVM_TACC_OS_APPLICATION_CREDENTIAL_ID" in html  # the variable's name is shown ...
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET in p.read_text(errors="ignore")]
    assert not leaked  # ... never its value
    assert "minutes-gpu-alice" in (run_dir / "01_provision_gpu.html").read_text()
