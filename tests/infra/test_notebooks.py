"""Notebooks 00, 01, 02, 99 are generated, and run under papermill on the ci profile in plan mode."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from minutes import REPO_ROOT
from minutes.devtools.notebooks_infra import NOTEBOOKS, write_all
from tests.infra.conftest import SECRET


def test_notebooks_are_generated_and_current(tmp_path: Path) -> None:
    for path in write_all(tmp_path):
        assert path.read_text() == (REPO_ROOT / "notebooks" / path.name).read_text(), \
            f"{path.name} is stale: run python -m minutes.devtools.notebooks_infra"
    assert set(NOTEBOOKS) == {"00_provision_kvm", "01_provision_gpu", "02_configure", "99_teardown"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_plan_mode_notebooks_run_and_leak_no_credential(tmp_path: Path, app_creds, ci_overrides) -> None:
    """With a credential planted in the environment, run 00, 01, 02, 99: no report holds it."""
    from minutes.cli import main
    from minutes.config import load_params
    from minutes.platform.local_services import stop_all
    from minutes.runs import load_run

    overrides = [*ci_overrides, f"mlflow.port={_free_port()}", f"serve.port={_free_port()}", "infra.suffix=alice"]
    argv = ["run", "--profile", "ci", "--only", "0,1,2,99", "--runs-dir", str(tmp_path / "runs")]
    for o in overrides:
        argv += ["-p", o]
    try:
        assert main(argv) == 0
    finally:
        stop_all(load_params("ci", overrides))
    (run_dir,) = (tmp_path / "runs").iterdir()
    record = load_run(run_dir)
    assert [n["status"] for n in record["notebooks"]] == ["ok"] * 4
    html = (run_dir / "00_provision_kvm.html").read_text()
    assert "minutes-kvm-lease-alice" in html and "flavor:instance" in html
    assert "KVM_TACC_OS_APPLICATION_CREDENTIAL_ID" in html  # the variable's name is shown ...
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET in p.read_text(errors="ignore")]
    assert not leaked  # ... never its value
    assert "minutes-gpu-alice" in (run_dir / "01_provision_gpu.html").read_text()
