"""Reuse a notebook's last report when nothing it depends on changed (the runner's fast path).

Every stage already skips its own work when its inputs are unchanged (minutes.cache), but a
notebook still costs a kernel, its imports, MLflow logging and, for 50_deploy, a load test of a
service that has not changed. So after a notebook succeeds the runner records what it ran with:

- the notebook file, the resolved parameters and the overrides;
- the package's code and the result-changing libraries (`code_version(["minutes"])`: any edit
  in lib/ counts, which is conservative on purpose);
- the state it left: the hash of every stage manifest (and index CURRENT pointer) in the work dir.

A later run reuses the report (copies it, says so, with the run it came from) when all of these
are the same as now and the notebook's live requirements hold: a deploy is reused only while its
services are up with the fingerprint they were deployed with; provisioning only in plan mode.
`-p runner.reuse_unchanged=false` runs everything.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from minutes.cache import code_version, hash_file, hash_params
from minutes.io import read_json, write_json

if TYPE_CHECKING:
    from minutes.config import Params

#: Where the records live, inside the profile's work dir.
RECORDS = ".runner"
#: The files a stage folder holds that say what it holds.
STATE_FILES = ("manifest.json", "CURRENT")
#: What a run folder holds per notebook (copied on reuse).
REPORT_FILES = ("{name}.ipynb", "{name}.html", "metrics/{name}.json", "logs/{name}.log")


def state(work_dir: Path) -> dict[str, str]:
    """Hash of each stage's manifest and CURRENT pointer under `work_dir` (one level deep)."""
    out = {}
    for stage in sorted(p for p in Path(work_dir).iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if Path(work_dir).is_dir() else []:
        for name in STATE_FILES:
            f = stage / name
            if f.is_file():
                out[f"{stage.name}/{name}"] = hash_file(f)
    return out


def fingerprint(notebook: Path, params: "Params", overrides: Sequence[str]) -> dict[str, Any]:
    """What a notebook's report depends on, besides the work dir's state."""
    return {"notebook": hash_file(notebook), "params": hash_params(params), "overrides": sorted(overrides),
            "code": code_version(["minutes"])}


def _deployed(params: "Params", overrides: Sequence[str]) -> str | None:
    from minutes.platform import local_services

    if params.infra.mode == "apply":
        return "deployments on Chameleon are checked by running the notebook"
    for name in ("mlflow", "prometheus"):
        if not local_services.service(name, params).healthy():
            return f"the local {name} server is not running"
    for name in local_services.DEPLOYED:  # the API, and the canary's candidate and router once deployed
        svc = local_services.service(name, params)
        stamp = svc.state_dir / f"{name}.deployed"
        if name != "api" and not stamp.is_file():
            continue
        if not svc.healthy():
            return f"the {name} service is not running"
        if not stamp.is_file() or stamp.read_text().strip() != local_services.fingerprint(name, params, list(overrides)):
            return f"the running {name} service was deployed from other parameters or code"
    return None


def _planned(params: "Params", overrides: Sequence[str]) -> str | None:
    return "apply mode changes real resources: it always runs" if params.infra.mode == "apply" else None


#: Per notebook prefix: a check that returns why the last report may not be reused now, or None.
LIVE: dict[str, Callable[["Params", Sequence[str]], str | None]] = {
    "00": _planned, "01": _planned, "02": _planned, "50": _deployed, "60": _deployed, "70": _deployed,
}
#: Notebooks that always run (they change the world on purpose).
ALWAYS = ("99",)


def _record_path(params: "Params", name: str) -> Path:
    return params.work_dir / RECORDS / f"{name}.json"


def check(name: str, notebook: Path, params: "Params", overrides: Sequence[str]) -> tuple[dict[str, Any] | None, str]:
    """(the record to reuse, "") or (None, why it runs)."""
    if not params.runner.reuse_unchanged:
        return None, "runner.reuse_unchanged is false"
    if name.startswith(ALWAYS):
        return None, "always runs"
    path = _record_path(params, name)
    if not path.is_file():
        return None, "no earlier run of it in this work dir"
    try:
        rec = read_json(path)
    except ValueError:
        return None, "its record is unreadable"
    if rec.get("fingerprint") != fingerprint(notebook, params, overrides):
        return None, "the notebook, parameters or code changed"
    now = state(params.work_dir)
    changed = sorted(k for k, v in rec.get("state", {}).items() if now.get(k) != v)
    if changed:
        return None, f"stage state changed since: {', '.join(changed[:3])}"
    live = LIVE.get(name[:2])
    try:
        why = live(params, overrides) if live else None
    except Exception as exc:  # noqa: BLE001 - a check that cannot tell means: run it
        why = f"its services could not be checked ({type(exc).__name__})"
    if why:
        return None, why
    source = Path(rec.get("run_dir", ""))
    missing = [f for f in (t.format(name=name) for t in REPORT_FILES[:2]) if not (source / f).is_file()]
    if missing:
        return None, "the earlier report is gone"
    return rec, ""


def remember(name: str, notebook: Path, params: "Params", overrides: Sequence[str], run_dir: Path,
             run_id: str, duration_s: float) -> None:
    """Record a successful notebook run (call right after it finished)."""
    write_json(_record_path(params, name), {
        "notebook": name, "run_id": run_id, "run_dir": str(run_dir), "duration_s": duration_s,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "fingerprint": fingerprint(notebook, params, overrides), "state": state(params.work_dir)})


def reuse(rec: dict[str, Any], name: str, run_dir: Path) -> Path:
    """Copy the recorded run's report, metrics and log of `name` into `run_dir`; the html path."""
    source = Path(rec["run_dir"])
    for template in REPORT_FILES:
        rel = template.format(name=name)
        if (source / rel).is_file():
            (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, run_dir / rel)
    return run_dir / f"{name}.html"
