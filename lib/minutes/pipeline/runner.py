"""Run numbered notebooks with papermill and archive each one into outputs/runs/<run_id>/."""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from minutes import REPO_ROOT
from minutes.config import load_params
from minutes.pipeline import reuse
from minutes.pipeline.select import NOTEBOOKS_DIR, discover, select
from minutes.reports.archive import archive_notebook
from minutes.reports.index import write_index
from minutes.runs import (git_info, load_run, notebook_metrics, now_iso, package_versions,
                          save_run)

log = logging.getLogger("minutes.runner")


class PipelineFailed(RuntimeError):
    """A notebook failed; the message names it and the failing cell."""


@dataclass
class RunRequest:
    #: None: "local" for a new run; on resume, the run's own (a different one is refused).
    profile: str | None = None
    overrides: tuple[str, ...] = ()
    only: list[int] | None = None
    start: int | None = None
    stop: int | None = None
    resume: str | None = None
    notebooks_dir: Path = NOTEBOOKS_DIR
    runs_dir: Path | None = None


def new_run_id(profile: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{profile}-{uuid.uuid4().hex[:4]}"


def _describe_failure(exc: BaseException, notebook: str, report: Path | None) -> str:
    cell = getattr(exc, "cell_index", None)
    count = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    source = (getattr(exc, "source", "") or "").strip().splitlines()
    where = f"cell {cell}" if cell is not None else "before any cell ran"
    if count is not None:
        where += f" (execution count {count})"
    msg = f"notebook {notebook} failed at {where}: {ename}: {evalue}"
    if source:
        msg += f"\n  cell source starts: {source[0][:120]}"
    if report:
        msg += f"\n  report: {report}"
    return msg


def _execute(path: Path, out: Path, parameters: dict[str, Any], timeout: int, kernel: str) -> None:
    import papermill as pm

    pm.execute_notebook(str(path), str(out), parameters=parameters, kernel_name=kernel,
                        execution_timeout=timeout, log_output=True, progress_bar=False,
                        cwd=str(REPO_ROOT), request_save_on_cell_execute=True)


class ResumeRefused(ValueError):
    """`--resume` could not find the run, or its arguments contradict the run's record."""


def _given_overrides(req: RunRequest) -> list[str]:
    """The -p overrides the user gave, less runs_dir (where to look, not how to run)."""
    return sorted(o for o in req.overrides if not o.split("=", 1)[0].strip() == "runs_dir")


def find_run(req: RunRequest) -> tuple[Path, dict[str, Any]]:
    """The run folder and record of `req.resume`, looked up where the original run put it.

    That is `--runs-dir`, else the runs dir of the same `--profile` and `-p` as the original run
    (e.g. `-p runs_dir=DIR`). A profile or overrides that contradict the record are refused:
    a resume always continues with the record's own parameters.
    """
    runs_dir = req.runs_dir or load_params(req.profile or "local", req.overrides).runs_dir
    run_dir = runs_dir / str(req.resume)
    if not run_dir.is_dir():
        raise ResumeRefused(f"no run {req.resume!r} under {runs_dir}: resume with the --profile and -p of the "
                            "original run (its runs dir, e.g. -p runs_dir=DIR), or --runs-dir DIR")
    record = load_run(run_dir)
    if req.profile is not None and req.profile != record["profile"]:
        raise ResumeRefused(f"run {req.resume} was made with --profile {record['profile']}, not {req.profile}; "
                            "a resume continues with the run's own profile (drop --profile or give that one)")
    given = _given_overrides(req)
    recorded = sorted(o for o in record.get("overrides", []) if o.split("=", 1)[0].strip() != "runs_dir")
    if given and given != recorded:
        raise ResumeRefused(f"run {req.resume} was made with -p {recorded or '(none)'}, not {given}; a resume "
                            "continues with the run's own parameters (drop -p or give the same ones)")
    return run_dir, record


def resume_command(record: dict[str, Any], runs_dir: Path) -> str:
    """The command that resumes this run from where it is (its profile, overrides, runs dir)."""
    args = ["python -m minutes run --resume", record["run_id"], "--profile", record["profile"]]
    args += [f"-p {o}" for o in record.get("overrides", [])]
    if not any(o.split("=", 1)[0].strip() == "runs_dir" for o in record.get("overrides", [])):
        args += ["--runs-dir", str(runs_dir)]
    return " ".join(args)


def run_pipeline(req: RunRequest, execute: Callable[..., None] = _execute) -> dict[str, Any]:
    """Run (or resume) a pipeline; returns the run record. Raises PipelineFailed on failure."""
    if req.resume:
        run_dir, record = find_run(req)
        runs_dir = run_dir.parent
        params = load_params(record["profile"], record["overrides"])
        todo = [n for n in record["notebooks"] if n["status"] != "ok"]
        if not todo:
            print(f"run {req.resume} already finished; nothing to resume")
            return record
        notebooks_dir = Path(record.get("notebooks_dir", req.notebooks_dir))
        record["resumed"] = record.get("resumed", []) + [now_iso()]
    else:
        params = load_params(req.profile or "local", req.overrides)  # a bad params file fails here, early
        runs_dir = req.runs_dir or params.runs_dir
        chosen = select(discover(req.notebooks_dir), req.only, req.start, req.stop)
        run_id = new_run_id(params.profile)
        run_dir = runs_dir / run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        notebooks_dir = req.notebooks_dir
        record = {
            "run_id": run_id,
            "profile": params.profile,
            "overrides": list(req.overrides),
            "notebooks_dir": str(notebooks_dir),
            "params": params.model_dump(mode="json"),
            "git": git_info(),
            "packages": package_versions(),
            "python": sys.version.split()[0],
            "started_at": now_iso(),
            "status": "running",
            "notebooks": [{"name": p.stem, "status": "pending"} for p in chosen],
        }
    record["status"] = "running"
    save_run(run_dir, record)
    write_index(runs_dir)
    total = len(record["notebooks"])
    print(f"run {record['run_id']} ({record['profile']}): {total} notebooks -> {run_dir}", flush=True)
    for i, entry in enumerate(record["notebooks"], 1):
        if entry["status"] == "ok":
            print(f"[{i}/{total}] {entry['name']}: done earlier, skipped", flush=True)
            continue
        _run_one(entry, i, total, notebooks_dir, run_dir, params, record, execute)
        save_run(run_dir, record)
        write_index(runs_dir)
        if entry["status"] != "ok":
            record["status"] = "failed"
            record["finished_at"] = now_iso()
            save_run(run_dir, record)
            write_index(runs_dir)
            raise PipelineFailed(entry["error"] + f"\n  resume with: {resume_command(record, runs_dir)}")
    record["status"] = "ok"
    record["finished_at"] = now_iso()
    save_run(run_dir, record)
    write_index(runs_dir)
    print(f"run {record['run_id']} finished: report {run_dir / 'index.html'} ; all runs {runs_dir.parent / 'index.html'}")
    return record


def _run_one(entry: dict[str, Any], i: int, total: int, notebooks_dir: Path, run_dir: Path,
             params: Any, record: dict[str, Any], execute: Callable[..., None]) -> None:
    name = entry["name"]
    source = Path(notebooks_dir) / f"{name}.ipynb"
    entry.update(status="running", started_at=now_iso(), error=None)
    save_run(run_dir, record)
    t0 = time.time()
    earlier, why = reuse.check(name, source, params, record["overrides"]) if source.is_file() else (None, "")
    if earlier is not None:
        entry["report"] = reuse.reuse(earlier, name, run_dir).name
        entry.update(status="ok", reused_from=earlier["run_id"], duration_s=round(time.time() - t0, 2),
                     finished_at=now_iso(), metrics=notebook_metrics(run_dir, name))
        print(f"[{i}/{total}] {name}: unchanged since run {earlier['run_id']} (notebook, parameters, code, "
              f"stage state); its report is reused ({entry['duration_s']:.1f} s)", flush=True)
        return
    print(f"[{i}/{total}] {name}: running{f' ({why})' if why else ''} ...", flush=True)
    # papermill saves the notebook as it goes; keep that unscrubbed copy outside outputs/.
    tmp = Path(tempfile.mkdtemp(prefix=f"minutes-{name}-"))
    os.chmod(tmp, 0o700)
    executed = tmp / f"{name}.ipynb"
    parameters = {"profile": record["profile"], "overrides": record["overrides"], "run_dir": str(run_dir)}
    error: BaseException | None = None
    try:
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing")
        execute(source, executed, parameters, params.runner.cell_timeout_s, params.runner.kernel)
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt must also archive the report
        error = exc
    finally:
        report = None
        if executed.is_file():
            report = archive_notebook(executed, run_dir, name)["html"]
            entry["report"] = report.name
        shutil.rmtree(tmp, ignore_errors=True)
    entry["duration_s"] = round(time.time() - t0, 2)
    entry["finished_at"] = now_iso()
    entry["metrics"] = notebook_metrics(run_dir, name)
    if error is None:
        entry["status"] = "ok"
        entry.pop("reused_from", None)
        reuse.remember(name, source, params, record["overrides"], run_dir, record["run_id"], entry["duration_s"])
        print(f"[{i}/{total}] {name}: ok ({entry['duration_s']:.1f} s)", flush=True)
        return
    entry["status"] = "failed"
    entry["error"] = _describe_failure(error, name, report)
    print(f"[{i}/{total}] {name}: FAILED ({entry['duration_s']:.1f} s)", flush=True)
    if isinstance(error, KeyboardInterrupt):
        save_run(run_dir, record)
        raise error
