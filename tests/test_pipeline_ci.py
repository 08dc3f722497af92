"""The whole pipeline, every notebook that exists, on the ci profile, ending with teardown."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.cli import main
from minutes.pipeline.select import discover
from minutes.runs import load_run


@pytest.fixture
def stop_services_after():
    yield
    from minutes.config import load_params
    from minutes.platform.local_services import stop_all

    stop_all(load_params("ci"))  # even when the run failed half-way, leave nothing running


@pytest.mark.slow
def test_every_notebook_runs_on_ci_profile(tmp_path: Path, capsys, stop_services_after) -> None:
    notebooks = discover()
    if not notebooks:
        pytest.skip("no notebooks yet")
    runs = tmp_path / "runs"
    # The ci work dir is kept (outputs/work/ci) so stage caches speed up repeated CI runs;
    # the run archive goes to tmp_path.
    rc = main(["run", "--profile", "ci", "--from", "0", "--to", "99", "--runs-dir", str(runs)])
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
    assert (runs.parent / "index.html").is_file()
