"""Notebook 99: delete what 00 and 01 made, in dependency order, and stop local services.

Order per node (GPU first, then KVM): Terraform destroy (when tf/kvm made the VM), servers
(waiting until they are gone), our floating IPs, the data volume (only with
infra.delete_volume), security groups, leases; then the node's state file. Everything is found
by its exact suffixed name (floating IPs by their description), so a second run finds nothing
and deletes nothing. Local services (MLflow, the API, Prometheus) are always stopped.
"""
from __future__ import annotations

from typing import Any, Callable

from minutes.infra import state, terraform
from minutes.infra.cloud import ChiCloud, _attr
from minutes.infra.names import Names, names_for
from minutes.infra.provision import LIVE_LEASE, Actions, Waiter
from minutes.infra.waits import waiter


def _node_names(names: Names, node: str, params: Any) -> dict[str, Any]:
    if node == "kvm":
        return {"site": params.infra.kvm.site, "server": names.kvm_server, "fip": names.kvm_fip,
                "lease": names.kvm_lease, "volume": names.kvm_volume if params.infra.delete_volume else None,
                "security_groups": [names.security_group(s) for s in sorted(params.infra.kvm.ports)]}
    return {"site": params.infra.gpu.site, "server": names.gpu_server, "fip": names.gpu_fip,
            "lease": names.gpu_lease, "volume": None, "security_groups": []}


def plan(params: Any) -> list[dict[str, str]]:
    """What apply would delete, in order (by name: IDs are looked up at delete time)."""
    names = names_for(params)
    rows: list[dict[str, str]] = []
    for node in ("gpu", "kvm"):
        n = _node_names(names, node, params)
        if node == "kvm" and (params.infra.tool == "terraform" or terraform.has_state(params)):
            rows.append({"site": n["site"], "resource": "terraform state", "name": str(terraform.work_dir(params)),
                         "how": " ".join(terraform.destroy_command(params))})
        rows.append({"site": n["site"], "resource": "server", "name": n["server"], "how": "nova delete, wait until gone"})
        rows.append({"site": n["site"], "resource": "floating ip", "name": n["fip"],
                     "how": "neutron delete (only addresses with this description)"})
        if n["volume"]:
            rows.append({"site": n["site"], "resource": "volume", "name": n["volume"], "how": "cinder delete"})
        for sg in n["security_groups"]:
            rows.append({"site": n["site"], "resource": "security group", "name": sg, "how": "neutron delete"})
        rows.append({"site": n["site"], "resource": "lease", "name": n["lease"],
                     "how": "blazar delete (live leases of this exact name)"})
    rows.append({"site": "localhost", "resource": "local services", "name": "router, candidate, api, mlflow",
                 "how": "minutes.platform.local_services.stop_all"})
    return rows


def teardown_node(params: Any, node: str, cloud: ChiCloud, wait: Waiter, actions: Actions,
                  creds: Any = None) -> None:
    """Delete one node's resources; missing ones are skipped, so re-runs are no-ops."""
    n = _node_names(names_for(params), node, params)
    if node == "kvm" and terraform.has_state(params):
        terraform.destroy(params, creds)
        actions.add("terraform state", str(terraform.work_dir(params)), "destroyed")
    servers = cloud.find_servers(n["server"])
    for server in servers:
        cloud.delete_server(str(_attr(server, "id")))
        actions.add("server", n["server"], "deleted", str(_attr(server, "id")))
    if servers:
        wait.until(f"server {n['server']} to be deleted", lambda: not cloud.find_servers(n["server"]))
    for fip in [f for f in cloud.list_floating_ips() if f.get("description") == n["fip"]]:
        cloud.delete_floating_ip(fip["id"])
        actions.add("floating ip", n["fip"], "deleted", str(fip.get("floating_ip_address", "")))
    if n["volume"]:
        for volume in cloud.find_volumes(n["volume"]):
            cloud.delete_volume(str(_attr(volume, "id")))
            actions.add("volume", n["volume"], "deleted", str(_attr(volume, "id")))
    for name in n["security_groups"]:
        for group in cloud.list_security_groups(name):
            cloud.delete_security_group(group["id"])
            actions.add("security group", name, "deleted", group["id"])
    for lease in [l for l in cloud.list_leases() if l.get("name") == n["lease"] and l.get("status") in LIVE_LEASE]:
        cloud.delete_lease(lease["id"])
        actions.add("lease", n["lease"], "deleted", lease["id"])
    if state.clear_state(params, node):
        actions.add("state file", f"infra/{node}.json", "removed")


def stop_local_services(params: Any, actions: Actions) -> dict[str, bool]:
    from minutes.platform.local_services import stop_all

    stopped = stop_all(params)
    for name, was_running in stopped.items():
        actions.add("local service", name, "stopped" if was_running else "not running")
    return stopped


def apply(params: Any, clouds: dict[str, ChiCloud] | None = None,
          use_site: Callable[..., Any] | None = None) -> Actions:
    """Tear everything down on Chameleon (apply mode), then stop local services (always)."""
    actions = Actions()
    try:
        if params.infra.mode == "apply":
            if use_site is None:
                from minutes.infra.context import use_site
            for node in ("gpu", "kvm"):
                site = _node_names(names_for(params), node, params)["site"]
                if node == "gpu" and not params.infra.gpu.enabled and state.load_state(params, "gpu") is None:
                    continue
                creds = use_site(site, params)
                cloud = (clouds or {}).get(site) or ChiCloud(site)
                teardown_node(params, node, cloud, waiter(params, "server"), actions, creds)
    finally:
        stop_local_services(params, actions)
    return actions
