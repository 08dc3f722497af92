"""Notebook 00: the KVM@TACC platform node (flavor lease, security groups, VM, floating IP).

`plan` renders every request and calls nothing; `apply` sends the same requests through
python-chi's clients (or drives tf/kvm with Terraform for everything after the lease), reusing
whatever a previous run made, and saves what exists to `infra/kvm.json`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from minutes.infra import cloud_requests, state, terraform
from minutes.infra.cloud import ChiCloud, _attr
from minutes.infra.names import names_for
from minutes.infra.provision import (Actions, Waiter, ensure_floating_ip, ensure_lease, ensure_security_groups,
                                     ensure_server, ensure_volume, reservation_id, wait_for_ssh)
from minutes.infra.waits import waiter


def plan(params: Any, now: datetime | None = None) -> dict[str, Any]:
    """The exact requests apply would send (IDs not yet known are placeholders); saved as JSON."""
    out = cloud_requests.kvm_plan(params, now=now)
    if params.infra.tool == "terraform":
        out["terraform_commands"] = [" ".join(a) for a in terraform.commands(params)]
    out["ssh"] = {"user": params.infra.ssh_user, "port": 22, "timeout_s": params.infra.ssh_timeout_s}
    state.save_plan(params, "kvm", out)
    return out


def apply(params: Any, cloud: ChiCloud | None = None, wait: Waiter | None = None,
          ssh_wait: Waiter | None = None, creds: Any = None) -> tuple[dict[str, Any], Actions]:
    """Get-or-create everything of 00 and wait for SSH; returns (state, actions taken)."""
    from minutes.infra.context import use_site

    site = params.infra.kvm.site
    if creds is None:
        creds = use_site(site, params)
    cloud = cloud or ChiCloud(site)
    actions = Actions()
    names = names_for(params)
    lease = ensure_lease(cloud, cloud_requests.kvm_lease(params, cloud), wait or waiter(params, "lease"), actions)
    rid = reservation_id(lease, "flavor:instance")
    after = cloud_requests.kvm_after_lease(params, cloud, rid)
    out: dict[str, Any] = {"site": site, "tool": params.infra.tool, "lease_id": lease["id"],
                           "lease_name": names.kvm_lease, "reservation_id": rid, "server_name": names.kvm_server}
    if params.infra.tool == "terraform":
        outputs = terraform.apply(params, after["terraform_vars"], creds)
        actions.add("terraform", str(terraform.work_dir(params)), "applied", ", ".join(sorted(outputs)))
        out.update({"server_id": outputs.get("instance_id"), "floating_ip": outputs.get("floating_ip"),
                    "volume_id": outputs.get("volume_id"), "security_groups": outputs.get("security_groups", [])})
    else:
        ensure_security_groups(cloud, after["security_groups"], actions)
        server = ensure_server(cloud, after["server"], wait or waiter(params, "server"), actions)
        fip = ensure_floating_ip(cloud, server, after["floating_ip"], actions)
        volume_id = None
        if "volume" in after:
            volume_id = ensure_volume(cloud, server, after["volume"], wait or waiter(params, "server"), actions)
        out.update({"server_id": str(_attr(server, "id")), "floating_ip": fip, "volume_id": volume_id,
                    "security_groups": [g["name"] for g in after["security_groups"]]})
    state.save_state(params, "kvm", out)
    wait_for_ssh(out["floating_ip"], ssh_wait or waiter(params, "ssh"))
    actions.add("ssh", out["floating_ip"], "reachable", f"{params.infra.ssh_user}@{out['floating_ip']}")
    return out, actions
