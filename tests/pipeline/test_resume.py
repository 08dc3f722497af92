"""`--resume ID` finds the run from the arguments a user would give (the original --profile and
-p, or --runs-dir) and refuses contradictory ones with a clear message. No notebook runs here:
the records are finished (nothing to resume) or the lookup refuses first."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.cli import main
from minutes.pipeline.runner import ResumeRefused, RunRequest, find_run, resume_command
from minutes.runs import save_run

RUN_ID = "20261123-103000-ci-abcd"


def _record(runs: Path, overrides: list[str]) -> Path:
    run_dir = runs / RUN_ID
    run_dir.mkdir(parents=True)
    save_run(run_dir, {"run_id": RUN_ID, "profile": "ci", "overrides": overrides, "status": "ok",
                       "notebooks": [{"name": "00_first", "status": "ok"}]})
    return run_dir


def test_found_with_the_original_profile_and_runs_dir_override(tmp_path: Path) -> None:
    runs = tmp_path / "elsewhere" / "runs"
    overrides = [f"runs_dir={runs}", "train.num_samples=1"]
    run_dir = _record(runs, overrides)
    found, record = find_run(RunRequest(profile="ci", overrides=tuple(overrides), resume=RUN_ID))
    assert found == run_dir and record["overrides"] == overrides
    # only the runs dir is enough to find it; --runs-dir too
    assert find_run(RunRequest(overrides=(f"runs_dir={runs}",), resume=RUN_ID))[0] == run_dir
    assert find_run(RunRequest(runs_dir=runs, resume=RUN_ID))[0] == run_dir


def test_cli_resume_with_p_runs_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    _record(runs, [f"runs_dir={runs}"])
    assert main(["run", "--resume", RUN_ID, "--profile", "ci", "-p", f"runs_dir={runs}"]) == 0
    assert f"run {RUN_ID} already finished" in capsys.readouterr().out


@pytest.mark.parametrize("req_kwargs, words", [
    ({"profile": "local"}, "made with --profile ci, not local"),
    ({"overrides": ("train.num_samples=2",)}, "made with -p ['train.num_samples=1'], not ['train.num_samples=2']"),
    ({"overrides": ("force=true",)}, "not ['force=true']"),
])
def test_contradictions_are_refused(tmp_path: Path, req_kwargs: dict, words: str) -> None:
    runs = tmp_path / "runs"
    _record(runs, ["train.num_samples=1"])
    with pytest.raises(ResumeRefused) as err:
        find_run(RunRequest(resume=RUN_ID, runs_dir=runs, **req_kwargs))
    assert words in str(err.value)


def test_missing_run_names_where_it_looked_and_how_to_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    assert main(["run", "--resume", RUN_ID, "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert f"no run '{RUN_ID}' under {runs}" in err and "-p runs_dir=DIR" in err and "--runs-dir" in err


def test_printed_resume_command_finds_the_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_dir = _record(runs, ["train.num_samples=1"])
    record = {"run_id": RUN_ID, "profile": "ci", "overrides": ["train.num_samples=1"]}
    command = resume_command(record, runs)
    assert command == f"python -m minutes run --resume {RUN_ID} --profile ci -p train.num_samples=1 --runs-dir {runs}"
    argv = command.split()[3:]  # after "python -m minutes"
    assert main(argv) == 0 and run_dir.is_dir()
