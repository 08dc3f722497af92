"""The runner against real papermill executions of small notebooks written by the test."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from minutes.cli import main
from tests.nbfactory import write_notebook
from minutes.runs import load_run


def _notebooks(root: Path) -> Path:
    nbdir = root / "nbs"
    nbdir.mkdir()
    log = "open(os.environ['MINUTES_TEST_LOG'], 'a').write(ctx.name + '\\n')"
    write_notebook(nbdir / "00_first.ipynb", "First", "ok", [("code", f"import os\n{log}\nctx.record(answer=42)")])
    write_notebook(nbdir / "10_flaky.ipynb", "Flaky", "fails while a flag file exists", [
        ("code", f"import os\n{log}"),
        ("code", "if os.path.exists(os.environ['MINUTES_TEST_FLAG']):\n    raise ValueError('flag is set')"),
    ])
    write_notebook(nbdir / "20_last.ipynb", "Last", "ok", [("code", f"import os\n{log}")])
    write_notebook(nbdir / "99_teardown.ipynb", "Teardown", "only when asked", [("code", f"import os\n{log}")])
    return nbdir


@pytest.mark.slow
def test_failure_stops_then_resume_completes(tmp_path: Path, ci_overrides: list[str],
                                             monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    nbdir = _notebooks(tmp_path)
    log, flag = tmp_path / "log.txt", tmp_path / "flag"
    flag.write_text("1")
    monkeypatch.setenv("MINUTES_TEST_LOG", str(log))
    monkeypatch.setenv("MINUTES_TEST_FLAG", str(flag))
    runs = tmp_path / "runs"
    args = ["run", "--profile", "ci", "--notebooks-dir", str(nbdir), "--runs-dir", str(runs)]
    args += sum((["-p", o] for o in ci_overrides), [])

    assert main(args) == 1
    err = capsys.readouterr().err
    assert "notebook 10_flaky failed at cell 6 (execution count 5)" in err and "ValueError: flag is set" in err
    (run_dir,) = runs.iterdir()
    record = load_run(run_dir)
    assert record["status"] == "failed"
    assert [n["status"] for n in record["notebooks"]] == ["ok", "failed", "pending"]
    assert record["notebooks"][0]["metrics"] == {"answer": 42}
    assert (run_dir / "10_flaky.html").is_file() and (run_dir / "10_flaky.ipynb").is_file()
    assert "99_teardown" not in [n["name"] for n in record["notebooks"]]

    flag.unlink()
    assert main(["run", "--resume", run_dir.name, "--runs-dir", str(runs)]) == 0
    record = load_run(run_dir)
    assert record["status"] == "ok" and all(n["status"] == "ok" for n in record["notebooks"])
    assert log.read_text().split() == ["00_first", "10_flaky", "10_flaky", "20_last"]
    index = (runs.parent / "index.html").read_text()
    assert run_dir.name in index and "answer=42" in index
    for key in ("git", "packages", "params", "started_at", "finished_at"):
        assert key in record
    assert record["params"]["profile"] == "ci"

    assert main(args[:1] + ["--only", "99"] + args[1:]) == 0
    assert log.read_text().split()[-1] == "99_teardown"


def test_bad_params_fail_before_any_notebook(tmp_path: Path, capsys) -> None:
    rc = main(["run", "--profile", "ci", "-p", "index.kind=nope", "--runs-dir", str(tmp_path / "runs")])
    assert rc == 2
    assert "index.kind" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_selection_flags(tmp_path: Path) -> None:
    from minutes.pipeline.select import discover, select

    nbdir = _notebooks(tmp_path)
    found = discover(nbdir)
    assert [p.stem for p in select(found)] == ["00_first", "10_flaky", "20_last"]
    assert [p.stem for p in select(found, start=10, stop=20)] == ["10_flaky", "20_last"]
    assert [p.stem for p in select(found, start=20, stop=99)] == ["20_last", "99_teardown"]
    assert [p.stem for p in select(found, only=[99])] == ["99_teardown"]
    with pytest.raises(ValueError, match="no notebook numbered"):
        select(found, only=[30])
