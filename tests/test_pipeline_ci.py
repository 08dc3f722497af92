"""The whole pipeline, every notebook that exists, on the ci profile, ending with teardown."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from minutes.cli import main
from minutes.pipeline.select import discover
from minutes.runs import load_run

#: Figures each stage must leave in run.json (when its notebook exists), with a sanity check.
EXPECTED = {
    "10_etl": {"n_utterances": lambda v: v > 0, "n_chunks": lambda v: v > 0, "validation_ok": bool},
    "20_index": {"dense_within_recall@10": lambda v: 0 < v <= 1, "dense_within_hit@10": lambda v: 0 < v <= 1},
    "30_train": {"registered_version": lambda v: int(v) >= 1, "trials": lambda v: v >= 2},
    "40_evaluate": {"extractive.rougeLsum": lambda v: v > 0, "gate_passed": lambda v: isinstance(v, bool)},
    "50_deploy": {"ask_extractive_errors": lambda v: v == 0, "smoke_checks": lambda v: v > 0},
    "60_demo": {"demo_sources": lambda v: v > 0},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ports() -> list[str]:
    """Own ports, so a ci service someone left on the default ports is not mistaken for ours."""
    overrides = [f"mlflow.port={_free_port()}", f"serve.port={_free_port()}"]
    yield overrides
    from minutes.config import load_params
    from minutes.platform.local_services import stop_all

    stop_all(load_params("ci", overrides))  # even when the run failed half-way, leave nothing running


@pytest.mark.slow
def test_every_notebook_runs_on_ci_profile(tmp_path: Path, capsys, ports: list[str]) -> None:
    notebooks = discover()
    if not notebooks:
        pytest.skip("no notebooks yet")
    runs = tmp_path / "runs"
    # The ci work dir is kept (outputs/work/ci) so stage caches speed up repeated CI runs;
    # the run archive goes to tmp_path.
    args = ["run", "--profile", "ci", "--from", "0", "--to", "99", "--runs-dir", str(runs)]
    for o in ports:
        args += ["-p", o]
    rc = main(args)
    out = capsys.readouterr()
    assert rc == 0, out.err[-4000:]
    (run_dir,) = runs.iterdir()
    record = load_run(run_dir)
    assert record["status"] == "ok"
    names = [n["name"] for n in record["notebooks"]]
    assert names == [p.stem for p in notebooks]
    assert names[-1].startswith("99"), "the ci run must end with teardown"
    for nb in record["notebooks"]:
        assert (run_dir / f"{nb['name']}.html").is_file()
        assert (run_dir / f"{nb['name']}.ipynb").is_file()
        for key, ok in EXPECTED.get(nb["name"], {}).items():
            assert key in nb["metrics"], f"{nb['name']} did not record {key}"
            assert ok(nb["metrics"][key]), f"{nb['name']}: implausible {key}={nb['metrics'][key]!r}"
    assert (runs.parent / "index.html").is_file()
