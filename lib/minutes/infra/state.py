"""What provisioning made (or would make), kept in the work dir's `infra/` folder.

`kvm.json` / `gpu.json` hold the IDs and addresses of live resources (02 builds its inventory
from them, 99 deletes what they name); `plan_*.json` hold the rendered plan of plan mode. IDs are
not secrets, but nothing with a credential is ever written here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from minutes.io import read_json, write_json

NODES = ("kvm", "gpu")


def infra_dir(params: Any) -> Path:
    return params.stage_dir("infra")


def state_path(params: Any, node: str) -> Path:
    if node not in NODES:
        raise ValueError(f"unknown node {node!r}; have {NODES}")
    return infra_dir(params) / f"{node}.json"


def plan_path(params: Any, what: str) -> Path:
    return infra_dir(params) / f"plan_{what}.json"


def save_state(params: Any, node: str, state: dict[str, Any]) -> Path:
    return write_json(state_path(params, node), state)


def load_state(params: Any, node: str) -> dict[str, Any] | None:
    """The node's provisioning state, or None when nothing was provisioned (or it was torn down)."""
    path = state_path(params, node)
    return read_json(path) if path.is_file() else None


def clear_state(params: Any, node: str) -> bool:
    path = state_path(params, node)
    if path.is_file():
        path.unlink()
        return True
    return False


def save_plan(params: Any, what: str, plan: dict[str, Any]) -> Path:
    return write_json(plan_path(params, what), plan)
