"""Apply the requests: get-or-create each resource by its exact name, wait, fail loudly.

Every `ensure_*` first looks for what a previous run made (so re-running a notebook creates
nothing new), then creates what is missing with the request built in minutes.infra.cloud_requests.
A lease or server in ERROR raises with the cloud's reason; every wait has a timeout.
"""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from minutes.infra.cloud import ChiCloud, _attr

log = logging.getLogger("minutes.infra")

#: Lease states that hold (or will hold) resources; TERMINATED/ERROR/DELETED ones are history.
LIVE_LEASE = ("PENDING", "STARTING", "ACTIVE", "UPDATING")


class ProvisionError(RuntimeError):
    """A resource failed (ERROR state, refused request, ambiguous name); says which and why."""


class WaitTimeout(ProvisionError):
    """A wait ran past its timeout (from params)."""


@dataclass
class Waiter:
    """Polls until done; `sleep` and `clock` are injectable so tests run instantly."""

    timeout_s: float
    poll_s: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    progress: bool = False

    def until(self, what: str, check: Callable[[], Any]) -> Any:
        """Call `check` until it returns something truthy; WaitTimeout after timeout_s.

        With `progress`, a tqdm bar shows the seconds spent against the timeout.
        """
        start = self.clock()
        deadline = start + self.timeout_s
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(self.timeout_s), desc=f"waiting for {what}", unit="s", leave=True)
        try:
            while True:
                result = check()
                if bar is not None:
                    bar.n = min(round(self.clock() - start), bar.total)
                    bar.refresh()
                if result:
                    return result
                if self.clock() >= deadline:
                    raise WaitTimeout(f"timed out after {self.timeout_s:.0f} s waiting for {what}")
                self.sleep(self.poll_s)
        finally:
            if bar is not None:
                bar.close()


@dataclass
class Actions:
    """What apply did, in order, for the report (resource, name, action, detail)."""

    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, resource: str, name: str, action: str, detail: str = "") -> None:
        log.info("%s %s: %s %s", resource, name, action, detail)
        self.rows.append({"resource": resource, "name": name, "action": action, "detail": detail})


# leases

def lease_reason(lease: dict[str, Any]) -> str:
    """The cloud's explanation of a lease's state, from whatever fields Blazar filled in."""
    parts = [str(lease[k]) for k in ("status_reason", "degraded") if lease.get(k)]
    for res in lease.get("reservations", []) or []:
        bits = [f"{k}={res[k]}" for k in ("status", "missing_resources", "resources_changed") if res.get(k)]
        if bits:
            parts.append(f"reservation {res.get('id', '?')} ({res.get('resource_type', '?')}): " + ", ".join(bits))
    return "; ".join(parts) or "Blazar gave no reason (see the lease's events in the Horizon UI)"


def find_lease(cloud: ChiCloud, name: str) -> dict[str, Any] | None:
    """The live lease of this exact name (ACTIVE first, then newest); ignores terminated ones."""
    live = [lease for lease in cloud.list_leases() if lease.get("name") == name and lease.get("status") in LIVE_LEASE]
    if not live:
        return None
    live.sort(key=lambda l: (l.get("status") == "ACTIVE", str(l.get("created_at", ""))), reverse=True)
    if len(live) > 1:
        log.warning("%d live leases named %s; using %s (%s)", len(live), name, live[0]["id"], live[0]["status"])
    return live[0]


def wait_lease_active(cloud: ChiCloud, lease_id: str, waiter: Waiter) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        lease = cloud.get_lease(lease_id)
        status = lease.get("status")
        if status == "ACTIVE":
            return lease
        if status in ("ERROR", "TERMINATED", "DELETED"):
            raise ProvisionError(f"lease {lease.get('name')} ({lease_id}) is {status}: {lease_reason(lease)}")
        return None

    return waiter.until(f"lease {lease_id} to become ACTIVE", check)


def ensure_lease(cloud: ChiCloud, request: dict[str, Any], waiter: Waiter, actions: Actions) -> dict[str, Any]:
    """Reuse the live lease of this name or create it; return it once ACTIVE."""
    lease = find_lease(cloud, request["name"])
    if lease is None:
        lease = cloud.create_lease(request)
        actions.add("lease", request["name"], "created", lease.get("id", ""))
    else:
        actions.add("lease", request["name"], "reused", f"{lease['id']} ({lease.get('status')})")
    return wait_lease_active(cloud, lease["id"], waiter)


def reservation_id(lease: dict[str, Any], resource_type: str) -> str:
    """The id of the lease's reservation of this type (servers need it, not the lease id)."""
    for res in lease.get("reservations", []) or []:
        if res.get("resource_type") == resource_type:
            return str(res["id"])
    raise ProvisionError(f"lease {lease.get('name')} has no {resource_type} reservation")


# security groups

def _rule_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule.get("direction"), rule.get("ethertype", "IPv4"), rule.get("protocol"),
            rule.get("port_range_min"), rule.get("port_range_max"), rule.get("remote_ip_prefix"))


def ensure_security_groups(cloud: ChiCloud, groups: list[dict[str, Any]], actions: Actions) -> dict[str, str]:
    """Each group by exact name, with every rule present (added to existing groups too)."""
    ids = {}
    for group in groups:
        found = cloud.list_security_groups(group["name"])
        if len(found) > 1:
            raise ProvisionError(f"{len(found)} security groups are named {group['name']}; delete the extras")
        if found:
            sg = found[0]
            actions.add("security group", group["name"], "reused", sg["id"])
        else:
            sg = cloud.create_security_group(group["name"], group["description"])
            sg.setdefault("security_group_rules", [])
            actions.add("security group", group["name"], "created", sg["id"])
        have = {_rule_key(r) for r in sg.get("security_group_rules", [])}
        for rule in group["rules"]:
            if _rule_key(rule) not in have:
                cloud.create_security_group_rule(sg["id"], rule)
                actions.add("security group rule", group["name"], "created",
                            f"{rule['protocol']}/{rule['port_range_min']} from {rule['remote_ip_prefix']}")
        ids[group["name"]] = sg["id"]
    return ids


# servers

def server_fault(server: Any) -> str:
    fault = _attr(server, "fault") or {}
    return str(fault.get("message") or fault.get("details") or "Nova gave no fault message") \
        if isinstance(fault, dict) else str(fault)


def wait_server_active(cloud: ChiCloud, server_id: str, waiter: Waiter) -> Any:
    def check() -> Any:
        server = cloud.get_server(server_id)
        status = _attr(server, "status")
        if status == "ACTIVE":
            return server
        if status == "ERROR":
            raise ProvisionError(f"server {_attr(server, 'name')} ({server_id}) is ERROR: {server_fault(server)}; "
                                 "run 99_teardown (or delete it) before retrying")
        return None

    return waiter.until(f"server {server_id} to become ACTIVE", check)


def ensure_server(cloud: ChiCloud, request: dict[str, Any], waiter: Waiter, actions: Actions) -> Any:
    """Reuse the server of this exact name (never one in ERROR) or create it; wait for ACTIVE."""
    found = cloud.find_servers(request["name"])
    if len(found) > 1:
        raise ProvisionError(f"{len(found)} servers are named {request['name']}; delete the extras")
    if found:
        server = found[0]
        if _attr(server, "status") == "ERROR":
            raise ProvisionError(f"server {request['name']} exists in ERROR: {server_fault(server)}; "
                                 "run 99_teardown (or delete it) before retrying")
        actions.add("server", request["name"], "reused", str(_attr(server, "id")))
        server = wait_server_active(cloud, _attr(server, "id"), waiter)
        attached = {_attr(g, "name") for g in (_attr(server, "security_groups") or [])}
        for group in request.get("security_groups", []):
            if group not in attached:
                cloud.add_security_group(_attr(server, "id"), group)
                actions.add("security group", group, "attached", request["name"])
        return server
    if not cloud.keypair_exists(request["key_name"]):
        raise ProvisionError(f"{cloud.site}: no key pair named {request['key_name']!r}; create it (Horizon: "
                             "Compute > Key Pairs, or set infra.key_name to one you have)")
    server = cloud.create_server(request)
    actions.add("server", request["name"], "created", str(_attr(server, "id")))
    return wait_server_active(cloud, _attr(server, "id"), waiter)


def server_floating_ips(server: Any) -> list[str]:
    addresses = _attr(server, "addresses") or {}
    return [a["addr"] for net in addresses.values() for a in net if a.get("OS-EXT-IPS:type") == "floating"]


def ensure_floating_ip(cloud: ChiCloud, server: Any, request: dict[str, Any], actions: Actions) -> str:
    """The server's floating IP: the one it has, else ours (by description), else a new one.

    Never grabs "any unbound address in the project" (it may be a teammate's).
    """
    owner = request["floatingip"]["description"]
    name = _attr(server, "name")
    have = server_floating_ips(server)
    if have:
        actions.add("floating ip", owner, "reused", f"{have[0]} on {name}")
        return have[0]
    ports = cloud.server_ports(_attr(server, "id"))
    if not ports:
        raise ProvisionError(f"server {name} has no network port to attach a floating IP to")
    ours = [f for f in cloud.list_floating_ips() if f.get("description") == owner]
    free = [f for f in ours if not f.get("port_id")]
    if free:
        fip = free[0]
        actions.add("floating ip", owner, "reused", fip["floating_ip_address"])
    else:
        fip = cloud.create_floating_ip(request)
        actions.add("floating ip", owner, "allocated", fip["floating_ip_address"])
    cloud.bind_floating_ip(fip["id"], ports[0]["id"])
    actions.add("floating ip", owner, "attached", f"{fip['floating_ip_address']} -> {name}")
    return str(fip["floating_ip_address"])


def ensure_volume(cloud: ChiCloud, server: Any, request: dict[str, Any], waiter: Waiter,
                  actions: Actions) -> str:
    """The platform's data volume, created once and attached to the server."""
    found = cloud.find_volumes(request["name"])
    if found:
        volume = found[0]
        actions.add("volume", request["name"], "reused", str(_attr(volume, "id")))
    else:
        volume = cloud.create_volume(request)
        actions.add("volume", request["name"], "created", f"{request['size']} GB")
    vid = str(_attr(volume, "id"))

    def check() -> Any:
        vol = cloud.get_volume(vid)
        status = _attr(vol, "status")
        if status == "error":
            raise ProvisionError(f"volume {request['name']} ({vid}) is in error")
        return vol if status in ("available", "in-use") else None

    volume = waiter.until(f"volume {vid} to become available", check)
    attached = {a.get("server_id") for a in (_attr(volume, "attachments") or [])}
    if _attr(server, "id") not in attached:
        cloud.attach_volume(_attr(server, "id"), vid)
        actions.add("volume", request["name"], "attached", str(_attr(server, "name")))
    return vid


def wait_for_ssh(host: str, waiter: Waiter, port: int = 22) -> None:
    """TCP connect to the SSH port until it answers (security groups and boot both gate it)."""

    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=5):
                return True
        except OSError:
            return False

    waiter.until(f"SSH on {host}:{port}", check)
