"""Notebook 02: the inventory from what 00/01 provisioned, and the playbooks that configure it.

Apply mode runs ansible/site.yml's playbooks (preflight, base, platform in compose mode, Ray
head) against the generated inventory. Plan mode renders that inventory and those runs, checks
every playbook's syntax, and applies the localhost parts for real: the preflight and the
platform's local variant (MLflow on loopback through minutes.platform.local_services).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

from minutes import REPO_ROOT
from minutes.infra import inventory as inv
from minutes.infra import state
from minutes.infra.ansible import (ANSIBLE_DIR, PlaybookResult, localhost_inventory, run_playbook,
                                   runner_envvars)

#: Playbooks applied to the Chameleon nodes, in order (ansible/site.yml imports the same).
REMOTE_PLAYBOOKS = ("preflight.yml", "base.yml", "platform.yml", "ray.yml")
#: Playbooks applied to this machine in plan mode.
LOCAL_PLAYBOOKS = ("preflight.yml", "platform.yml")


class NotProvisioned(RuntimeError):
    """02 in apply mode found no state from 00 (and 01): nothing to configure yet."""


def inventory_path(params: Any) -> Path:
    return state.infra_dir(params) / "inventory.yml"


def remote_inventory(params: Any) -> dict[str, Any]:
    """The inventory of the Chameleon nodes: from kvm.json/gpu.json in apply mode, else the plan's."""
    if params.infra.mode == "plan":
        return inv.plan_inventory(params)
    kvm, gpu = state.load_state(params, "kvm"), state.load_state(params, "gpu")
    if kvm is None:
        raise NotProvisioned(f"no {state.state_path(params, 'kvm')}: run 00_provision_kvm first")
    if gpu is None and params.infra.gpu.enabled:
        raise NotProvisioned(f"no {state.state_path(params, 'gpu')}: run 01_provision_gpu first "
                             "(or set infra.gpu.enabled=false)")
    return inv.build_inventory(params, kvm, gpu)


def generated_dir(params: Any) -> Path:
    """Where the playbooks generate missing secrets once, on the controller (never in a report)."""
    return state.infra_dir(params) / "generated"


def extravars(params: Any, mode: str, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Variables of the playbooks (no secrets: those are read from the environment). The
    platform's Prometheus gets its prometheus.yml and targets from minutes.platform.prometheus_server,
    which writes the local server's too (one scrape job)."""
    from minutes.platform.prometheus_server import platform_files

    ports = params.infra.kvm.ports
    return {"platform_mode": mode, "minutes_profile": params.profile, "minutes_overrides": list(overrides),
            "minutes_repo": str(REPO_ROOT), "minutes_python": sys.executable,
            "platform_generated_dir": str(generated_dir(params)),
            "platform_public_services": list(params.infra.public_services),
            "prometheus_files": platform_files(params),
            **{f"{name}_port": ports[name] for name in ("postgres", "prometheus", "grafana") if name in ports},
            "preflight_min_free_gb": 1 if mode == "local" else 20}


def plan_runs(params: Any, overrides: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The ansible-playbook runs of apply mode, as rows (playbook, hosts, variables)."""
    hosts = {"preflight.yml": "all", "base.yml": "kvm, gpu", "platform.yml": "platform", "ray.yml": "ray_head"}
    ev = extravars(params, "compose", overrides)
    return [{"playbook": pb, "hosts": hosts[pb], "inventory": str(inventory_path(params)),
             "extravars": ", ".join(f"{k}={v}" for k, v in ev.items() if k in ("platform_mode", "minutes_profile"))}
            for pb in REMOTE_PLAYBOOKS if pb != "ray.yml" or params.infra.gpu.enabled]


def syntax_check(playbook: str, params: Any | None = None) -> dict[str, Any]:
    """`ansible-playbook --syntax-check` of one playbook (with the repo's ansible.cfg)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="minutes-syntax-") as tmp:
        env = {**os.environ, **runner_envvars(Path(tmp))}
        (Path(tmp) / "tmp").mkdir()
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check",
                               "-i", "localhost,", str(ANSIBLE_DIR / playbook)],
                              capture_output=True, text=True, env=env, timeout=120)
    ok = proc.returncode == 0
    return {"playbook": playbook, "ok": ok,
            "detail": "syntax ok" if ok else (proc.stderr or proc.stdout).strip()[-800:]}


def run_local(params: Any, overrides: Iterable[str] = ()) -> list[PlaybookResult]:
    """Plan mode: preflight and the local platform (MLflow on loopback) on this machine, for real."""
    inventory = localhost_inventory(groups=["platform"])
    ev = extravars(params, "local", overrides)
    return [run_playbook(pb, inventory, ev, params) for pb in LOCAL_PLAYBOOKS]


def run_remote(params: Any, overrides: Iterable[str] = ()) -> list[PlaybookResult]:
    """Apply mode: every playbook against the provisioned nodes (SSH as infra.ssh_user)."""
    inventory = remote_inventory(params)
    inv.write_inventory(inventory_path(params), inventory)
    ev = extravars(params, "compose", overrides)
    playbooks = [pb for pb in REMOTE_PLAYBOOKS if pb != "ray.yml" or "ray_head" in inventory["all"]["children"]]
    return [run_playbook(pb, inventory, ev, params, timeout_s=params.infra.server_timeout_s) for pb in playbooks]


def results_table(results: list[PlaybookResult]) -> list[dict[str, Any]]:
    """One row per playbook and host: status, seconds and the task counts."""
    return [{"playbook": r.playbook, "status": r.status, "seconds": r.seconds, **row}
            for r in results for row in r.host_table()]


def as_list(overrides: Iterable[str] | str) -> list[str]:
    """The notebook's `overrides` parameter (a list, or one space-separated string) as a list."""
    return [o for o in overrides.split() if o] if isinstance(overrides, str) else list(overrides)
