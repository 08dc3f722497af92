"""Run the playbooks in ansible/ through ansible-runner, with failures that say where.

ansible-runner shells out to `ansible-playbook`, ignores the repo's ansible.cfg unless told, and
writes env files, the full process environment and every event (facts included) into its private
data dir. So: the venv's bin goes first on PATH, ANSIBLE_CONFIG points at ansible/ansible.cfg,
env files are suppressed, and the artifacts are scrubbed of secret values after each run.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from minutes import REPO_ROOT

ANSIBLE_DIR = REPO_ROOT / "ansible"
ANSIBLE_CFG = ANSIBLE_DIR / "ansible.cfg"


class PlaybookFailed(RuntimeError):
    """A playbook did not succeed; `result.failures` names each failing task and host."""

    def __init__(self, result: "PlaybookResult") -> None:
        self.result = result
        super().__init__(result.summary())


@dataclass
class PlaybookResult:
    """What a playbook run did, in the terms a notebook shows."""

    playbook: str
    status: str
    rc: int
    stats: dict[str, dict[str, int]]
    failures: list[dict[str, str]] = field(default_factory=list)
    #: One row per task and host: status (ok, changed, skipped, failed, unreachable), and in
    #: diff mode what the file would become (`after`, secrets masked).
    tasks: list[dict[str, str]] = field(default_factory=list)
    artifact_dir: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def summary(self) -> str:
        head = f"playbook {self.playbook}: {self.status} (rc={self.rc})"
        if self.rc == 127:
            head += " - ansible-playbook not found on PATH"
        lines = [f"  {f['host']}: task {f['task']!r} {f['event']}: {f['msg']}" for f in self.failures]
        if self.artifact_dir:
            lines.append(f"  artifacts: {self.artifact_dir}")
        return "\n".join([head, *lines])

    def host_table(self) -> list[dict[str, Any]]:
        """Per-host counts (ok, changed, failures, unreachable, skipped) for a DataFrame."""
        keys = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
                "skipped": "skipped"}
        hosts = sorted({h for counts in self.stats.values() for h in counts})
        return [{"host": h, **{label: self.stats.get(k, {}).get(h, 0) for k, label in keys.items()}}
                for h in hosts]


def localhost_inventory(groups: Iterable[str] = (), **hostvars: Any) -> dict[str, Any]:
    """An inventory with only this machine, reached without SSH, optionally in `groups`.

    Modules run with this process's Python, so they see the same packages as the notebook.
    """
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **hostvars}
    inv: dict[str, Any] = {"all": {"hosts": {"localhost": host}}}
    if groups:
        inv["all"]["children"] = {g: {"hosts": {"localhost": {}}} for g in groups}
    return inv


def resolve_playbook(playbook: str | os.PathLike[str]) -> Path:
    """A playbook path, absolute or relative to ansible/; a clear error when it is missing."""
    path = Path(playbook)
    if not path.is_absolute():
        path = ANSIBLE_DIR / path
    if not path.is_file():
        known = sorted(p.name for p in ANSIBLE_DIR.glob("*.yml"))
        raise FileNotFoundError(f"playbook {path} does not exist (playbooks in {ANSIBLE_DIR}: {known})")
    return path


def runner_envvars(private_data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook: venv bin first on PATH, our ansible.cfg, local temp dirs."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    env = {
        "PATH": venv_bin + (os.pathsep + path if path else ""),
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_LOCAL_TEMP": str(private_data_dir / "tmp"),
        "ANSIBLE_ROLES_PATH": str(ANSIBLE_DIR / "roles"),
        "ANSIBLE_NOCOLOR": "1",
    }
    env.update(extra or {})
    return env


def _failures(events: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for ev in events:
        kind = ev.get("event")
        data = ev.get("event_data") or {}
        if kind not in ("runner_on_failed", "runner_on_unreachable") or data.get("ignore_errors"):
            continue
        res = data.get("res") or {}
        msg = res.get("msg") or res.get("stderr") or res.get("stdout") or ""
        if isinstance(msg, (list, dict)):
            msg = str(msg)
        out.append({"host": str(data.get("host", "?")), "task": str(data.get("task", "?")),
                    "event": "unreachable" if kind == "runner_on_unreachable" else "failed",
                    "msg": str(msg).strip()[:2000]})
    return out


_STATUS = {"runner_on_ok": "ok", "runner_on_skipped": "skipped", "runner_on_failed": "failed",
           "runner_on_unreachable": "unreachable"}


def _tasks(events: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for ev in events:
        status = _STATUS.get(str(ev.get("event")))
        if status is None:
            continue
        data = ev.get("event_data") or {}
        res = data.get("res") or {}
        if status == "ok" and res.get("changed"):
            status = "changed"
        diffs: list[Any] = []
        for part in [res, *(r for r in res.get("results") or [] if isinstance(r, dict))]:  # loops: per item
            diff = part.get("diff") or []
            diffs += diff if isinstance(diff, list) else [diff]
        after = "".join(str(d.get("after", "")) for d in diffs if isinstance(d, dict))
        out.append({"host": str(data.get("host", "?")), "task": str(data.get("task", "?")),
                    "status": status, "after": after})
    return out


def _scrub_tree(root: Path) -> None:
    """Mask secret environment values in every file ansible-runner wrote (env, facts, stdout)."""
    from minutes.reports.scrub import scrub_text, secret_values

    values = secret_values()
    if not values:
        return
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        clean = scrub_text(text, values)
        if clean != text:
            path.write_text(clean, encoding="utf-8")


def private_data_dir_for(params: Any | None) -> Path:
    """`<work_dir>/ansible` for a profile; a temporary folder when called without params."""
    if params is None:
        return Path(tempfile.mkdtemp(prefix="minutes-ansible-"))
    return params.stage_dir("ansible")


def run_playbook(playbook: str | os.PathLike[str], inventory: dict[str, Any],
                 extravars: dict[str, Any] | None = None, params: Any | None = None, *,
                 private_data_dir: str | os.PathLike[str] | None = None, limit: str | None = None,
                 tags: str | None = None, envvars: Mapping[str, str] | None = None,
                 ssh_key: str | None = None, timeout_s: int | None = None, check: bool = True,
                 dry_run: bool = False, quiet: bool = True) -> PlaybookResult:
    """Run one playbook; raise PlaybookFailed (failing task and host named) unless it succeeds.

    `playbook` is absolute or relative to ansible/. `inventory` is a YAML-shaped dict (see
    localhost_inventory and minutes.infra.inventory). Secrets belong in `envvars` (read by the
    playbook with lookup('env', ...)), not in `extravars`, which land on the command line.
    With `check=False` a failed result is returned instead of raised. `dry_run` runs Ansible's
    check mode with diffs (`--check --diff`): every task is templated and its module validates
    its arguments, nothing is changed.
    """
    import ansible_runner

    path = resolve_playbook(playbook)
    pdd = Path(private_data_dir) if private_data_dir else private_data_dir_for(params)
    (pdd / "tmp").mkdir(parents=True, exist_ok=True)
    ident = f"{time.strftime('%Y%m%d-%H%M%S')}-{path.stem}-{os.getpid()}"
    started = time.time()
    runner = ansible_runner.run(
        private_data_dir=str(pdd), playbook=str(path), inventory=inventory,
        extravars=dict(extravars or {}), envvars=runner_envvars(pdd, envvars), ident=ident,
        suppress_env_files=True, project_dir=str(ANSIBLE_DIR), limit=limit, tags=tags,
        ssh_key=ssh_key, timeout=timeout_s, quiet=quiet, rotate_artifacts=20,
        cmdline="--check --diff" if dry_run else None)
    events = list(runner.events)
    artifact_dir = Path(runner.config.artifact_dir)
    from minutes.reports.scrub import scrub_text, secret_values

    secrets = secret_values()
    failures = [{k: scrub_text(v, secrets) for k, v in f.items()} for f in _failures(events)]
    tasks = [{k: scrub_text(v, secrets) for k, v in t.items()} for t in _tasks(events)]
    result = PlaybookResult(playbook=str(path.relative_to(ANSIBLE_DIR) if path.is_relative_to(ANSIBLE_DIR)
                                         else path),
                            status=str(runner.status), rc=int(runner.rc if runner.rc is not None else -1),
                            stats=dict(runner.stats or {}), failures=failures, tasks=tasks,
                            artifact_dir=artifact_dir,
                            seconds=round(time.time() - started, 2))
    _scrub_tree(artifact_dir)
    if check and not result.ok:
        raise PlaybookFailed(result)
    return result
