"""Planted secrets never reach an archived report."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.cli import main
from tests.nbfactory import write_notebook
from minutes.reports.archive import archive_notebook

PLANTED = {
    "OS_APPLICATION_CREDENTIAL_SECRET": "appcred-s3cr3t-0001",
    "OS_PASSWORD": "os-password-0002",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-0003",
    "MINIO_ROOT_PASSWORD": "minio-root-0004",
    "MINUTES_INGEST_TOKEN": "ingest-token-0005",
}


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_runner_archive_contains_no_environment_secrets(tmp_path: Path, ci_overrides: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in PLANTED.items():
        monkeypatch.setenv(k, v)
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    write_notebook(nbdir / "00_leaky.ipynb", "Leaky", "prints every secret it can find", [
        ("code", "import os\nfor k in sorted(os.environ):\n    print(k, '=', os.environ[k])"),
        ("code", "from IPython.display import HTML\nHTML('<b>' + os.environ['OS_PASSWORD'] + '</b>')"),
        ("code", "ctx.record(leak=os.environ['AWS_SECRET_ACCESS_KEY'])"),
    ])
    runs = tmp_path / "runs"
    args = ["run", "--profile", "ci", "--notebooks-dir", str(nbdir), "--runs-dir", str(runs)]
    assert main(args + sum((["-p", o] for o in ci_overrides), [])) == 0
    text = _all_text(tmp_path / "runs") + (tmp_path / "index.html").read_text()
    assert "OS_PASSWORD" in text  # the names are there ...
    for value in PLANTED.values():
        assert value not in text  # ... the values are not


@pytest.mark.slow
def test_secret_named_parameter_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill as pm

    src = tmp_path / "nb.ipynb"
    write_notebook(src, "Param", "a notebook given a secret as a parameter", [
        ("code", "print('using', db_password)")])
    src_text = src.read_text().replace('run_dir = \\"\\"', 'run_dir = \\"\\"\\ndb_password = \\"\\"')
    src.write_text(src_text)
    out = tmp_path / "executed.ipynb"
    pm.execute_notebook(str(src), str(out), parameters={"profile": "ci", "db_password": "pg-pass-9876"},
                        kernel_name="python3", progress_bar=False)
    assert "pg-pass-9876" in out.read_text()  # papermill itself copies it everywhere
    archive_notebook(out, tmp_path / "archive", "nb")
    assert "pg-pass-9876" not in _all_text(tmp_path / "archive")


def test_metrics_keep_token_counts_but_lose_tokens() -> None:
    from minutes.reports.scrub import MASK, scrub_obj

    metrics = {"chunk_tokens_mean": 412.5, "max_source_tokens": 256, "ingest_token": "abcdef-123",
               "nested": {"apiToken": "zz-998877", "note": "value ingest-token-0005 leaked"}}
    clean = scrub_obj(metrics, environ={"MINUTES_INGEST_TOKEN": "ingest-token-0005"})
    assert clean["chunk_tokens_mean"] == 412.5 and clean["max_source_tokens"] == 256
    assert clean["ingest_token"] == MASK and clean["nested"]["apiToken"] == MASK
    assert clean["nested"]["note"] == f"value {MASK} leaked"
