"""The deployment playbook: both modes pass ansible's syntax check; the local mode, run through
ansible-runner like notebook 50 does, starts MLflow and the API with pid files and logs under
the work dir, and local_services.stop_all (notebook 99) leaves nothing running."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from minutes.config import load_params
from minutes.serve import deploy
from tests.serve.conftest import free_port, write_corpus

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["local", "compose"])
def test_playbook_syntax(mode: str) -> None:
    assert "deploy_service.yml" in deploy.syntax_check(mode)


def test_local_deploy_then_stop_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from minutes.notebook import configure_environment
    from minutes.platform import local_services

    overrides = [f"work_dir={tmp_path / 'work'}", f"serve.port={free_port()}", f"mlflow.port={free_port()}"]
    params = load_params("ci", overrides)
    configure_environment(params)
    write_corpus(params)
    monkeypatch.delenv(params.serve.ingest_token_env, raising=False)
    try:
        dep = deploy.deploy(params, overrides)
        assert dep.mode == "local" and dep.token_generated and dep.result.ok
        url = dep.urls[params.serve.model_alias]
        ready = httpx.get(url + "/readyz", timeout=30).json()
        assert ready["ready"] and ready["mode"] == "extractive"
        status = local_services.status(params)
        assert status["api"]["healthy"] and status["mlflow"]["healthy"]
        serve_dir = params.stage_dir("serve")
        assert (serve_dir / "api.pid").is_file() and (serve_dir / "api.log").is_file()
        token = os.environ[params.serve.ingest_token_env]
        r = httpx.post(url + "/ingest", headers={"Authorization": f"Bearer {token}"}, data={"meeting_id": "dep01"},
                       files={"file": ("d.txt", b"Ann: The deploy test meeting.\n")}, timeout=120)
        assert r.status_code == 201, r.text  # the token reached the service through the environment only
        artifacts = "".join(p.read_text(errors="replace") for p in dep.result.artifact_dir.rglob("*") if p.is_file())
        assert token not in artifacts
        again = deploy.deploy(params, overrides)  # idempotent: the running service is kept
        assert again.result.ok and local_services.status(params)["api"]["pid"] == status["api"]["pid"]
        # other parameters: the deploy replaces the running service instead of keeping a stale one
        changed = [*overrides, "serve.max_answer_words=40"]
        third = deploy.deploy(load_params("ci", changed), changed)
        assert third.result.ok
        now = local_services.status(params)["api"]
        assert now["healthy"] and now["pid"] not in (None, status["api"]["pid"])
    finally:
        stopped = local_services.stop_all(params)
    assert stopped == {"prometheus": False, "router": False, "candidate": False, "api": True, "mlflow": True}
    after = local_services.status(params)
    assert not after["api"]["healthy"] and after["api"]["pid"] is None and after["mlflow"]["pid"] is None


def test_source_archive_is_the_package_and_reproducible(tmp_path: Path) -> None:
    """One archive for the node: lib, params, pyproject, README; no bytecode; same bytes twice."""
    import tarfile

    params = load_params("ci", [f"work_dir={tmp_path / 'work'}"])
    first = deploy.source_archive(params).read_bytes()
    path = deploy.source_archive(params)
    assert path.read_bytes() == first
    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert {"pyproject.toml", "README.md", "lib/minutes/serve/deploy.py", "params/ci.yaml"} <= set(names)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        member = tar.extractfile("lib/minutes/serve/deploy.py")
        assert member is not None and member.read() == (deploy.REPO_ROOT / "lib/minutes/serve/deploy.py").read_bytes()
