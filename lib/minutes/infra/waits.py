"""Waiters with the timeouts of params (infra.lease_timeout_s, server_timeout_s, ssh_timeout_s)."""
from __future__ import annotations

from typing import Any

from minutes.infra.provision import Waiter

KINDS = ("lease", "server", "ssh")


def waiter(params: Any, kind: str) -> Waiter:
    """A Waiter for `kind` with its timeout from params and the common poll interval."""
    if kind not in KINDS:
        raise ValueError(f"unknown wait {kind!r}; have {KINDS}")
    timeout = getattr(params.infra, f"{kind}_timeout_s")
    return Waiter(timeout_s=timeout, poll_s=min(params.infra.poll_s, timeout), progress=True)
