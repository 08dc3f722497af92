"""Notebook 01: the bare-metal GPU node (host lease by node type, server, floating IP).

Skipped when the profile has no GPU stage (infra.gpu.enabled false). The server is created on
the lease's *reservation* id (scheduler hint), never the lease id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from minutes.infra import cloud_requests, state
from minutes.infra.cloud import ChiCloud, _attr
from minutes.infra.names import names_for
from minutes.infra.provision import (Actions, Waiter, ensure_floating_ip, ensure_lease, ensure_server,
                                     reservation_id, wait_for_ssh)
from minutes.infra.waits import waiter


def enabled(params: Any) -> bool:
    return bool(params.infra.gpu.enabled)


def plan(params: Any, now: datetime | None = None) -> dict[str, Any] | None:
    """The requests of 01, or None when the profile has no GPU node."""
    if not enabled(params):
        return None
    out = cloud_requests.gpu_plan(params, now=now)
    out["ssh"] = {"user": params.infra.ssh_user, "port": 22, "timeout_s": params.infra.ssh_timeout_s}
    state.save_plan(params, "gpu", out)
    return out


def apply(params: Any, cloud: ChiCloud | None = None, wait: Waiter | None = None,
          ssh_wait: Waiter | None = None) -> tuple[dict[str, Any] | None, Actions]:
    """Get-or-create the GPU lease, server and floating IP; wait for SSH. None when disabled."""
    actions = Actions()
    if not enabled(params):
        actions.add("gpu node", "-", "skipped", "infra.gpu.enabled is false")
        return None, actions
    from minutes.infra.context import use_site

    site = params.infra.gpu.site
    use_site(site, params)
    cloud = cloud or ChiCloud(site)
    names = names_for(params)
    lease = ensure_lease(cloud, cloud_requests.gpu_lease(params), wait or waiter(params, "lease"), actions)
    rid = reservation_id(lease, "physical:host")
    after = cloud_requests.gpu_after_lease(params, cloud, rid)
    server = ensure_server(cloud, after["server"], wait or waiter(params, "server"), actions)
    fip = ensure_floating_ip(cloud, server, after["floating_ip"], actions)
    out = {"site": site, "lease_id": lease["id"], "lease_name": names.gpu_lease, "reservation_id": rid,
           "server_name": names.gpu_server, "server_id": str(_attr(server, "id")), "floating_ip": fip,
           "node_type": params.infra.gpu.node_type}
    state.save_state(params, "gpu", out)
    wait_for_ssh(fip, ssh_wait or waiter(params, "ssh"))
    actions.add("ssh", fip, "reachable", f"{params.infra.ssh_user}@{fip}")
    return out, actions
