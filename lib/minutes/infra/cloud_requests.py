"""The exact requests sent to Chameleon, built once for plan and apply.

Plan mode renders these with a `PlanResolver` (placeholders instead of IDs that need an API
call); apply mode builds the very same dicts with the cloud as resolver and sends them. The
dict shapes are those of the APIs python-chi drives: Blazar `lease.create`, novaclient
`servers.create`, Neutron security groups / rules / floating IPs, Cinder `volumes.create`.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from minutes.infra.names import Names, key_name, names_for

#: Blazar's date format; dates are UTC (nothing converts them).
BLAZAR_TIME_FORMAT = "%Y-%m-%d %H:%M"
PUBLIC_NETWORK = "public"


class Resolver(Protocol):
    """Name -> ID lookups a request needs (cloud calls in apply mode, placeholders in plan)."""

    def flavor_id(self, name: str) -> str: ...
    def image_id(self, name: str) -> str: ...
    def network_id(self, name: str) -> str: ...


class PlanResolver:
    """Stands in for the cloud: every ID is a readable placeholder."""

    def flavor_id(self, name: str) -> str:
        return f"<id of flavor {name}>"

    def image_id(self, name: str) -> str:
        return f"<id of image {name}>"

    def network_id(self, name: str) -> str:
        return f"<id of network {name}>"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def lease_request(name: str, reservations: list[dict[str, Any]], hours: int,
                  now: datetime | None = None) -> dict[str, Any]:
    """Keyword arguments of blazar `lease.create`: starts now, ends `hours` later (UTC)."""
    now = now or utcnow()
    return {"name": name, "start": "now",
            "end": (now.astimezone(timezone.utc) + timedelta(hours=hours)).strftime(BLAZAR_TIME_FORMAT),
            "reservations": reservations, "events": []}


def flavor_reservation(flavor_id: str, amount: int = 1) -> dict[str, Any]:
    """A KVM flavor reservation (Blazar `flavor:instance`), as python-chi's builder makes it."""
    return {"resource_type": "flavor:instance", "flavor_id": flavor_id, "amount": amount, "affinity": None}


def node_reservation(node_type: str, amount: int = 1) -> dict[str, Any]:
    """A bare-metal host reservation by node type (Blazar `physical:host`)."""
    return {"resource_type": "physical:host",
            "resource_properties": json.dumps(["==", "$node_type", node_type]),
            "hypervisor_properties": "", "min": amount, "max": amount}


def security_group_requests(names: Names, ports: dict[str, int], cidr: str) -> list[dict[str, Any]]:
    """One group per public service port, each with its single ingress rule (the rest stay closed)."""
    groups = []
    for service, port in sorted(ports.items(), key=lambda kv: kv[1]):
        groups.append({
            "name": names.security_group(service),
            "description": f"Minutes: allow TCP {port} ({service})",
            "rules": [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
                       "port_range_min": port, "port_range_max": port, "remote_ip_prefix": cidr}],
        })
    return groups


def server_request(name: str, image_id: str, flavor_id: str, network_id: str, key: str,
                   reservation_id: str | None = None,
                   security_groups: list[str] | None = None) -> dict[str, Any]:
    """Keyword arguments of novaclient `servers.create`.

    Bare metal passes the *reservation* id (not the lease id) as scheduler hint on the
    `baremetal` flavor; KVM passes no hint and boots on the reserved flavor instead.
    """
    req: dict[str, Any] = {"name": name, "image": image_id, "flavor": flavor_id, "key_name": key,
                           "nics": [{"net-id": network_id}],
                           "scheduler_hints": {"reservation": reservation_id} if reservation_id else {}}
    if security_groups:
        req["security_groups"] = list(security_groups)
    return req


def floating_ip_request(public_network_id: str, owner: str) -> dict[str, Any]:
    """Neutron `create_floatingip` body; `description` marks whose address it is."""
    return {"floatingip": {"floating_network_id": public_network_id, "description": owner}}


def volume_request(names: Names, size_gb: int) -> dict[str, Any]:
    """Cinder `volumes.create` keyword arguments of the platform's data volume."""
    return {"size": size_gb, "name": names.kvm_volume,
            "description": "Minutes platform data (Postgres, MinIO); kept by teardown unless asked"}


def reserved_flavor_name(reservation_id: str) -> str:
    """On KVM@TACC an active flavor reservation appears as a flavor of this name."""
    return f"reservation:{reservation_id}"


def terraform_vars(params: Any, flavor_id: str) -> dict[str, Any]:
    """Variables of tf/kvm (written to a .tfvars.json); the lease itself is made by python-chi."""
    names = names_for(params)
    kvm = params.infra.kvm
    return {"suffix": names.suffix, "instance_name": names.kvm_server, "key_pair": key_name(params),
            "flavor_id": flavor_id, "image_name": kvm.image, "network_name": kvm.network,
            "ports": params.infra.public_ports(), "allowed_cidr": params.infra.allowed_cidr,
            "volume_gb": kvm.volume_gb}


def kvm_lease(params: Any, resolver: Resolver, now: datetime | None = None) -> dict[str, Any]:
    """The KVM flavor lease (the first request of 00_provision_kvm)."""
    kvm = params.infra.kvm
    return lease_request(names_for(params).kvm_lease, [flavor_reservation(resolver.flavor_id(kvm.flavor))],
                         kvm.lease_hours, now)


def kvm_after_lease(params: Any, resolver: Resolver, reservation_id: str) -> dict[str, Any]:
    """What follows the lease: security groups, server, floating IP, volume (or Terraform vars)."""
    names = names_for(params)
    kvm = params.infra.kvm
    flavor = resolver.flavor_id(reserved_flavor_name(reservation_id))
    if params.infra.tool == "terraform":
        return {"terraform_vars": terraform_vars(params, flavor)}
    groups = security_group_requests(names, params.infra.public_ports(), params.infra.allowed_cidr)
    out: dict[str, Any] = {
        "security_groups": groups,
        "server": server_request(names.kvm_server, resolver.image_id(kvm.image), flavor,
                                 resolver.network_id(kvm.network), key_name(params),
                                 security_groups=[g["name"] for g in groups]),
        "floating_ip": floating_ip_request(resolver.network_id(PUBLIC_NETWORK), names.kvm_fip),
    }
    if kvm.volume_gb:
        out["volume"] = volume_request(names, kvm.volume_gb)
    return out


def kvm_plan(params: Any, resolver: Resolver | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Everything 00_provision_kvm sends, in order, with placeholders for IDs not yet known."""
    resolver = resolver or PlanResolver()
    placeholder = f"<id of the flavor reservation in lease {names_for(params).kvm_lease}>"
    return {"site": params.infra.kvm.site, "tool": params.infra.tool,
            "lease": kvm_lease(params, resolver, now), **kvm_after_lease(params, resolver, placeholder)}


def gpu_lease(params: Any, now: datetime | None = None) -> dict[str, Any]:
    """The bare-metal lease of one GPU node of the configured type."""
    gpu = params.infra.gpu
    return lease_request(names_for(params).gpu_lease, [node_reservation(gpu.node_type, 1)], gpu.lease_hours, now)


def gpu_after_lease(params: Any, resolver: Resolver, reservation_id: str) -> dict[str, Any]:
    """The server on the host reservation (its id, not the lease id) and its floating IP."""
    names = names_for(params)
    gpu = params.infra.gpu
    return {
        "server": server_request(names.gpu_server, resolver.image_id(gpu.image),
                                 resolver.flavor_id("baremetal"), resolver.network_id(gpu.network),
                                 key_name(params), reservation_id=reservation_id),
        "floating_ip": floating_ip_request(resolver.network_id(PUBLIC_NETWORK), names.gpu_fip),
    }


def gpu_plan(params: Any, resolver: Resolver | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Everything 01_provision_gpu sends, in order."""
    resolver = resolver or PlanResolver()
    placeholder = f"<id of the host reservation in lease {names_for(params).gpu_lease}>"
    return {"site": params.infra.gpu.site, "lease": gpu_lease(params, now),
            **gpu_after_lease(params, resolver, placeholder)}
