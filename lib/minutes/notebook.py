"""The one helper every numbered notebook calls right after its `parameters` cell."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from minutes import notebook_logs
from minutes.config import Params, load_params
from minutes.runs import log_path, record_metrics


@dataclass
class NotebookContext:
    """What a notebook needs: its name, typed params, and where to report metrics."""

    name: str
    params: Params
    run_dir: Path | None
    metrics: dict[str, Any] = field(default_factory=dict)
    #: Where library logging below WARNING goes (it stays out of the notebook's output).
    log_file: Path | None = None

    def record(self, **metrics: Any) -> dict[str, Any]:
        """Record key figures; the runner copies them into run.json and the runs index."""
        self.metrics.update(metrics)
        return record_metrics(self.run_dir, self.name, self.metrics)

    def stage_dir(self, stage: str) -> Path:
        return self.params.stage_dir(stage)


def configure_environment(params: Params) -> None:
    """Keep caches inside the work dir, and keep offline profiles off every model hub."""
    cache = params.work_dir / "cache"
    os.environ.setdefault("HF_HOME", str(cache / "huggingface"))
    os.environ.setdefault("MPLCONFIGDIR", str(cache / "matplotlib"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if params.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    params.work_dir.mkdir(parents=True, exist_ok=True)


def start(name: str, profile: str = "local", overrides: Iterable[str] | str = (),
          run_dir: str | Path | None = "") -> NotebookContext:
    """Load the profile's parameters and prepare the process. Notebooks call this once, before
    importing anything else: logging is configured here, and some libraries log at import."""
    if isinstance(overrides, str):
        overrides = [o for o in overrides.split() if o]
    params = load_params(profile, list(overrides))
    configure_environment(params)
    folder = Path(run_dir) if run_dir else None
    # Inside a run the log sits in the run folder; interactively, in the profile's work dir.
    log_file = notebook_logs.configure(log_path(folder or params.work_dir, name))
    ctx = NotebookContext(name=name, params=params, run_dir=folder, log_file=log_file)
    print(f"{name}: profile={params.profile} work_dir={params.work_dir}"
          + (f" run_dir={ctx.run_dir}" if ctx.run_dir else " (interactive: metrics are not archived)")
          + f"; library log: {log_file}")
    return ctx
