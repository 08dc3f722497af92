"""The runner reuses a notebook's report when nothing it depends on changed, and runs it again
when its parameters, the stage state it left, or its live requirements changed."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from minutes.cli import main
from minutes.config import load_params
from minutes.pipeline import reuse
from minutes.runs import load_run
from tests.nbfactory import write_notebook


def _notebooks(root: Path) -> Path:
    nbdir = root / "nbs"
    nbdir.mkdir()
    log = "open(os.environ['MINUTES_TEST_LOG'], 'a').write(ctx.name + '\\n')"
    stage = ("d = ctx.stage_dir('toy'); d.mkdir(parents=True, exist_ok=True)\n"
             "(d / 'manifest.json').write_text('{\"status\": \"complete\"}')")
    write_notebook(nbdir / "10_stage.ipynb", "Stage", "writes a stage manifest",
                   [("code", f"import os\n{log}\n{stage}\nctx.record(answer=42)")])
    write_notebook(nbdir / "20_report.ipynb", "Report", "reads it", [("code", f"import os\n{log}")])
    return nbdir


@pytest.mark.slow
def test_an_unchanged_notebook_is_reused_and_a_change_runs_it(tmp_path: Path, ci_overrides: list[str],
                                                              monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    nbdir = _notebooks(tmp_path)
    log = tmp_path / "log.txt"
    monkeypatch.setenv("MINUTES_TEST_LOG", str(log))
    runs = tmp_path / "runs"

    def run(*extra: str) -> dict:
        args = ["run", "--profile", "ci", "--notebooks-dir", str(nbdir), "--runs-dir", str(runs)]
        args += sum((["-p", o] for o in [*ci_overrides, *extra]), [])
        before = set(runs.iterdir()) if runs.is_dir() else set()
        assert main(args) == 0
        (new,) = [d for d in runs.iterdir() if d.is_dir() and d not in before]
        return load_run(new) | {"dir": new}

    first = run()
    second = run()
    assert log.read_text().split() == ["10_stage", "20_report"]  # the second run executed nothing
    assert [n.get("reused_from") for n in second["notebooks"]] == [first["run_id"]] * 2
    assert second["notebooks"][0]["metrics"] == {"answer": 42}
    assert (second["dir"] / "10_stage.html").read_text() == (first["dir"] / "10_stage.html").read_text()
    assert "unchanged since run " + first["run_id"] in capsys.readouterr().out

    # A stage manifest changed by someone else: the state 10 left is gone, so it runs again; it
    # writes the manifest 20 saw when it ran, so 20's report still stands.
    params = load_params("ci", ci_overrides)
    (params.stage_dir("toy") / "manifest.json").write_text(json.dumps({"status": "complete", "n": 2}))
    third = run()
    assert log.read_text().split()[2:] == ["10_stage"]
    assert [n.get("reused_from") for n in third["notebooks"]] == [None, first["run_id"]]

    run("serve.default_k=3")  # other parameters: both run again
    assert log.read_text().split()[3:] == ["10_stage", "20_report"]
    run("runner.reuse_unchanged=false")  # asked not to reuse
    assert len(log.read_text().split()) == 7


def test_the_fingerprint_follows_notebook_parameters_and_code(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "10_x.ipynb", "X", "x", [("code", "1")])
    params = load_params("ci", [f"work_dir={tmp_path / 'work'}"])
    base = reuse.fingerprint(nb, params, [])
    assert base == reuse.fingerprint(nb, params, [])
    assert reuse.fingerprint(nb, load_params("ci", [f"work_dir={tmp_path / 'work'}", "serve.default_k=3"]), []) != base
    assert reuse.fingerprint(nb, params, ["serve.default_k=3"]) != base
    write_notebook(nb, "X", "x", [("code", "2")])
    assert reuse.fingerprint(nb, params, []) != base


def test_deploy_and_apply_mode_notebooks_need_their_live_checks(tmp_path: Path) -> None:
    params = load_params("ci", [f"work_dir={tmp_path / 'work'}", "mlflow.port=1", "serve.port=2"])
    assert "not running" in (reuse.LIVE["50"](params, []) or "")
    apply = params.model_copy(update={"infra": params.infra.model_copy(update={"mode": "apply"})})
    assert "apply mode" in (reuse.LIVE["00"](apply, []) or "")
    assert reuse.LIVE["00"](params, []) is None
    rec, why = reuse.check("99_teardown", tmp_path / "99_teardown.ipynb", params, [])
    assert rec is None and why == "always runs"
    os.makedirs(tmp_path / "work", exist_ok=True)
    assert reuse.check("10_x", tmp_path / "10_x.ipynb", params, [])[1] == "no earlier run of it in this work dir"
