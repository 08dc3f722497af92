"""Run records: outputs/runs/<run_id>/run.json and the metrics notebooks report into it.

Notebooks run in their own kernel, so each writes its metrics to metrics/<notebook>.json in the
run folder; the runner merges them into run.json after the notebook finishes. Library logging of
each notebook goes to logs/<notebook>.log there (see minutes.notebook_logs).
"""
from __future__ import annotations

import importlib.metadata
import subprocess
import time
from pathlib import Path
from typing import Any

from minutes import REPO_ROOT
from minutes.io import read_json, write_json
from minutes.reports.scrub import scrub_obj

RUN_FILE = "run.json"
LOGS_DIR = "logs"
KEY_PACKAGES = ["minutes", "torch", "transformers", "sentence-transformers", "peft", "faiss-cpu",
                "faster-whisper", "openai-whisper", "mlflow", "ray", "optuna", "papermill",
                "fastapi", "python-chi", "ansible-core", "ansible-runner", "evaluate", "rouge-score"]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def git_info(root: Path = REPO_ROOT) -> dict[str, Any]:
    """Commit and dirty flag of the checkout (None outside git)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def package_versions(names: list[str] = KEY_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def load_run(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no run record at {path}")
    return read_json(path)


def save_run(run_dir: Path, record: dict[str, Any]) -> None:
    write_json(Path(run_dir) / RUN_FILE, record)


def record_metrics(run_dir: Path | str | None, notebook: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """Merge `metrics` into metrics/<notebook>.json of the run (no-op outside a run)."""
    if not run_dir:
        return metrics
    path = Path(run_dir) / "metrics" / f"{notebook}.json"
    current = read_json(path) if path.is_file() else {}
    current.update(metrics)
    current = scrub_obj(current)  # metrics end up in run.json and index.html
    write_json(path, current)
    return current


def log_path(folder: Path | str, notebook: str) -> Path:
    """Where a notebook's library log goes: <run folder or work dir>/logs/<notebook>.log."""
    return Path(folder) / LOGS_DIR / f"{notebook}.log"


def notebook_metrics(run_dir: Path, notebook: str) -> dict[str, Any]:
    path = Path(run_dir) / "metrics" / f"{notebook}.json"
    return read_json(path) if path.is_file() else {}
