"""The one place that talks to Chameleon: thin calls through python-chi's client factories.

Each method is a single API call on `chi.lease.blazar()`, `chi.server.nova()`,
`chi.network.neutron()`, `chi.image.glance()` or `chi.storage.cinder()`, looked up at call time,
so tests replace exactly those factories (as python-chi's own tests do) and see every request.
python-chi's higher-level helpers are avoided where they hide failures: lease creation errors
become a bare "Unable to make lease", waits return quietly on ERROR, name lookups create
duplicates and security groups by substring.
"""
from __future__ import annotations

from typing import Any


class CloudError(RuntimeError):
    """A Chameleon API call failed; the message carries the service's own reason."""


def _chi(module: str) -> Any:
    import importlib

    return importlib.import_module(f"chi.{module}")


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class ChiCloud:
    """Resolver and API adapter for one site (python-chi's context must point at it)."""

    def __init__(self, site: str) -> None:
        self.site = site

    # factories (patched in tests)
    def blazar(self) -> Any:
        return _chi("lease").blazar()

    def nova(self) -> Any:
        return _chi("server").nova()

    def neutron(self) -> Any:
        return _chi("network").neutron()

    def glance(self) -> Any:
        return _chi("image").glance()

    def cinder(self) -> Any:
        return _chi("storage").cinder()

    # resolver
    def flavor_id(self, name: str) -> str:
        # is_public=None lists private flavors too: a reserved flavor is private to the project.
        found = [f for f in self.nova().flavors.list(is_public=None) if _attr(f, "name") == name]
        if not found:
            raise CloudError(f"{self.site}: no flavor named {name!r} (a reserved flavor appears only "
                             "once its lease is ACTIVE)")
        return str(_attr(found[0], "id"))

    def image_id(self, name: str) -> str:
        found = [i for i in self.glance().images.list(filters={"name": name}) if _attr(i, "name") == name]
        if not found:
            raise CloudError(f"{self.site}: no image named {name!r}")
        return str(_attr(found[0], "id"))

    def network_id(self, name: str) -> str:
        found = [n for n in self.neutron().list_networks(name=name)["networks"] if n["name"] == name]
        if len(found) != 1:
            raise CloudError(f"{self.site}: expected one network named {name!r}, found {len(found)}")
        return str(found[0]["id"])

    # leases
    def list_leases(self) -> list[dict[str, Any]]:
        return list(self.blazar().lease.list())

    def get_lease(self, lease_id: str) -> dict[str, Any]:
        return self.blazar().lease.get(lease_id)

    def create_lease(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            lease = self.blazar().lease.create(**request)
        except Exception as exc:  # blazarclient raises its own exception types
            raise CloudError(f"{self.site}: Blazar refused lease {request['name']!r}: {exc} (an "
                             "application credential needs 'Unrestricted' ticked to make leases)") from exc
        if not lease:
            raise CloudError(f"{self.site}: Blazar returned nothing for lease {request['name']!r}")
        return lease

    def delete_lease(self, lease_id: str) -> None:
        self.blazar().lease.delete(lease_id)

    # servers
    def find_servers(self, name: str) -> list[Any]:
        return [s for s in self.nova().servers.list(search_opts={"name": f"^{name}$"})
                if _attr(s, "name") == name]

    def get_server(self, server_id: str) -> Any:
        return self.nova().servers.get(server_id)

    def create_server(self, request: dict[str, Any]) -> Any:
        try:
            return self.nova().servers.create(**request)
        except Exception as exc:
            raise CloudError(f"{self.site}: Nova refused server {request['name']!r}: {exc}") from exc

    def delete_server(self, server_id: str) -> None:
        self.nova().servers.delete(server_id)

    def add_security_group(self, server_id: str, group: str) -> None:
        self.nova().servers.add_security_group(server_id, group)

    def keypair_exists(self, name: str) -> bool:
        return any(_attr(k, "name") == name for k in self.nova().keypairs.list())

    # networking
    def list_security_groups(self, name: str) -> list[dict[str, Any]]:
        return [g for g in self.neutron().list_security_groups(name=name)["security_groups"]
                if g["name"] == name]

    def create_security_group(self, name: str, description: str) -> dict[str, Any]:
        body = {"security_group": {"name": name, "description": description}}
        return self.neutron().create_security_group(body)["security_group"]

    def create_security_group_rule(self, group_id: str, rule: dict[str, Any]) -> dict[str, Any]:
        body = {"security_group_rule": {**rule, "security_group_id": group_id}}
        return self.neutron().create_security_group_rule(body)["security_group_rule"]

    def delete_security_group(self, group_id: str) -> None:
        self.neutron().delete_security_group(group_id)

    def list_floating_ips(self) -> list[dict[str, Any]]:
        return list(self.neutron().list_floatingips()["floatingips"])

    def create_floating_ip(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.neutron().create_floatingip(body)["floatingip"]
        except Exception as exc:
            raise CloudError(f"{self.site}: could not allocate a floating IP: {exc}") from exc

    def bind_floating_ip(self, fip_id: str, port_id: str | None) -> dict[str, Any]:
        return self.neutron().update_floatingip(fip_id, {"floatingip": {"port_id": port_id}})["floatingip"]

    def delete_floating_ip(self, fip_id: str) -> None:
        self.neutron().delete_floatingip(fip_id)

    def server_ports(self, server_id: str) -> list[dict[str, Any]]:
        return list(self.neutron().list_ports(device_id=server_id)["ports"])

    # volumes (KVM only)
    def find_volumes(self, name: str) -> list[Any]:
        return [v for v in self.cinder().volumes.list(search_opts={"name": name}) if _attr(v, "name") == name]

    def create_volume(self, request: dict[str, Any]) -> Any:
        return self.cinder().volumes.create(**request)

    def get_volume(self, volume_id: str) -> Any:
        return self.cinder().volumes.get(volume_id)

    def attach_volume(self, server_id: str, volume_id: str) -> None:
        self.nova().volumes.create_server_volume(server_id, volume_id)

    def delete_volume(self, volume_id: str) -> None:
        self.cinder().volumes.delete(volume_id)
