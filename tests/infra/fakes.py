"""A fake Chameleon behind python-chi's client factories (blazar, nova, neutron, glance, cinder).

Every manager the code sees is `unittest.mock.create_autospec` of the real client class that
python-chi hands back (blazarclient `LeaseClientManager`, novaclient `ServerManager`,
`FlavorManager`, `KeypairManager`, `VolumeManager`, neutronclient `Client`, glanceclient's
image `Controller`, cinderclient v3 `VolumeManager`): a call with an argument name or count the
real method does not take raises TypeError before reaching the fake, and a method the fake does
not implement fails the test. The implementations below keep the state and record every call in
`cloud.calls` as (service, method, kwargs), so tests can check the exact requests and their order.
"""
from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any
from unittest.mock import create_autospec

from blazarclient.v1.leases import LeaseClientManager
from cinderclient.v3.volumes import VolumeManager as CinderVolumeManager
from glanceclient.v2.images import Controller as GlanceImageController
from neutronclient.v2_0.client import Client as NeutronClient
from novaclient.v2.flavors import FlavorManager
from novaclient.v2.keypairs import KeypairManager
from novaclient.v2.servers import ServerManager
from novaclient.v2.volumes import VolumeManager as NovaVolumeManager


def shaped(real: type, impl: Any) -> Any:
    """An autospec of `real` whose methods run `impl`'s same-named ones; the rest raise."""
    mock = create_autospec(real, instance=True, spec_set=True)
    public = {n for n in dir(type(impl)) if not n.startswith("_") and callable(getattr(impl, n))}
    unknown = sorted(n for n in public if not callable(getattr(real, n, None)))
    if unknown:
        raise AssertionError(f"the fake of {real.__name__} invents {unknown}: the real class has no such methods")
    for name in dir(real):
        if name.startswith("_") or not callable(getattr(real, name, None)) or isinstance(getattr(real, name), type):
            continue
        child = getattr(mock, name, None)
        if child is None:
            continue
        if name in public:
            child.side_effect = getattr(impl, name)
        else:
            child.side_effect = AssertionError(f"{real.__name__}.{name} is not faked; the code under test called it")
    return mock


class FakeCloud:
    """State of one fake site. `lease_script` / `server_script`: statuses that `get` walks through."""

    def __init__(self, site: str = "KVM@TACC") -> None:
        self.site = site
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self.leases: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, SimpleNamespace] = {}
        self.flavors = [SimpleNamespace(id="flv-xl", name="m1.xlarge"), SimpleNamespace(id="flv-bm", name="baremetal")]
        self.images = [SimpleNamespace(id="img-ubuntu", name="CC-Ubuntu24.04"),
                       SimpleNamespace(id="img-cuda", name="CC-Ubuntu24.04-CUDA")]
        self.networks = [{"id": "net-shared", "name": "sharednet1"}, {"id": "net-public", "name": "public"}]
        self.keypairs = [SimpleNamespace(name="alice-jupyter")]
        self.security_groups: dict[str, dict[str, Any]] = {}
        self.fips: dict[str, dict[str, Any]] = {}
        self.ports: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, SimpleNamespace] = {}
        self.lease_script = ["PENDING", "ACTIVE"]
        self.lease_reason = ""
        self.server_script = ["BUILD", "ACTIVE"]
        self.server_fault: dict[str, Any] = {}
        self.create_lease_error: Exception | None = None
        self.blazar = SimpleNamespace(lease=shaped(LeaseClientManager, _Leases(self)))
        self.nova = SimpleNamespace(servers=shaped(ServerManager, _Servers(self)),
                                    flavors=shaped(FlavorManager, _Flavors(self)),
                                    keypairs=shaped(KeypairManager, _Keypairs(self)),
                                    volumes=shaped(NovaVolumeManager, _NovaVolumes(self)))
        self.neutron = shaped(NeutronClient, _Neutron(self))
        self.glance = SimpleNamespace(images=shaped(GlanceImageController, _Images(self)))
        self.cinder = SimpleNamespace(volumes=shaped(CinderVolumeManager, _Volumes(self)))

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}"

    def record(self, service: str, method: str, **kwargs: Any) -> None:
        self.calls.append((service, method, kwargs))

    def creates(self) -> list[tuple[str, str]]:
        """(service, method) of every call that created or attached something."""
        verbs = ("create", "add_", "update_floatingip")
        return [(s, m) for s, m, _ in self.calls if m.startswith(verbs)]

    def deletes(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [c for c in self.calls if c[1].startswith("delete")]


class _Leases:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list(self, sort_by: Any = None) -> list[dict[str, Any]]:
        self.c.record("blazar", "list_leases")
        return [dict(lease) for lease in self.c.leases.values()]

    def create(self, name: str, start: str, end: str, reservations: list[dict[str, Any]], events: list[Any],
               before_end: Any = None) -> dict[str, Any]:
        self.c.record("blazar", "create_lease", name=name, start=start, end=end, reservations=reservations,
                      events=events)
        if self.c.create_lease_error:
            raise self.c.create_lease_error
        lid = self.c.new_id("lease")
        lease = {"id": lid, "name": name, "status": self.c.lease_script[0], "created_at": lid,
                 "reservations": [{**r, "id": self.c.new_id("res"), "lease_id": lid} for r in reservations],
                 "_script": list(self.c.lease_script[1:])}
        self.c.leases[lid] = lease
        return {k: v for k, v in lease.items() if not k.startswith("_")}

    def get(self, lease_id: str) -> dict[str, Any]:
        self.c.record("blazar", "get_lease", lease_id=lease_id)
        lease = self.c.leases[lease_id]
        if lease["_script"]:
            lease["status"] = lease["_script"].pop(0)
        if lease["status"] == "ACTIVE":
            for res in lease["reservations"]:
                name = f"reservation:{res['id']}"
                if res["resource_type"] == "flavor:instance" and all(f.name != name for f in self.c.flavors):
                    self.c.flavors.append(SimpleNamespace(id=res["id"], name=name))
        if lease["status"] == "ERROR" and self.c.lease_reason:
            lease["status_reason"] = self.c.lease_reason
        return {k: v for k, v in lease.items() if not k.startswith("_")}

    def delete(self, lease_id: str) -> None:
        self.c.record("blazar", "delete_lease", lease_id=lease_id)
        self.c.leases[lease_id]["status"] = "TERMINATED"


class _Servers:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list(self, detailed: bool = True, search_opts: dict[str, Any] | None = None) -> list[SimpleNamespace]:
        self.c.record("nova", "list_servers", search_opts=search_opts)
        return list(self.c.servers.values())

    def get(self, server: str) -> SimpleNamespace:
        self.c.record("nova", "get_server", server_id=server)
        found = self.c.servers[server]
        if found._script:
            found.status = found._script.pop(0)
        if found.status == "ERROR":
            found.fault = self.c.server_fault
        return found

    def create(self, **kwargs: Any) -> SimpleNamespace:
        self.c.record("nova", "create_server", **kwargs)
        sid = self.c.new_id("srv")
        server = SimpleNamespace(id=sid, name=kwargs["name"], status=self.c.server_script[0], addresses={
            "sharednet1": [{"addr": "10.52.0.5", "OS-EXT-IPS:type": "fixed"}]},
            security_groups=[{"name": g} for g in kwargs.get("security_groups", [])], fault={},
            _script=list(self.c.server_script[1:]))
        self.c.servers[sid] = server
        self.c.ports[f"port-{sid}"] = {"id": f"port-{sid}", "device_id": sid}
        return server

    def delete(self, server: str) -> None:
        server_id = server
        self.c.record("nova", "delete_server", server_id=server_id)
        self.c.servers.pop(server_id)
        self.c.ports.pop(f"port-{server_id}", None)
        for fip in self.c.fips.values():
            if fip.get("port_id") == f"port-{server_id}":
                fip["port_id"] = None

    def add_security_group(self, server: str, security_group: str) -> None:
        self.c.record("nova", "add_security_group", server_id=server, group=security_group)
        self.c.servers[server].security_groups.append({"name": security_group})


class _Flavors:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list(self, detailed: bool = True, is_public: Any = True, **_: Any) -> list[SimpleNamespace]:
        self.c.record("nova", "list_flavors", is_public=is_public)
        return [f for f in self.c.flavors if is_public is None or not f.name.startswith("reservation:")]


class _Keypairs:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list(self, user_id: Any = None, **_: Any) -> list[SimpleNamespace]:
        return list(self.c.keypairs)


class _NovaVolumes:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def create_server_volume(self, server_id: str, volume_id: str, **_: Any) -> None:
        self.c.record("nova", "add_volume_attachment", server_id=server_id, volume_id=volume_id)
        vol = self.c.volumes[volume_id]
        vol.status = "in-use"
        vol.attachments = [{"server_id": server_id}]


class _Neutron:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list_networks(self, name: str | None = None) -> dict[str, Any]:
        return {"networks": [n for n in self.c.networks if name is None or n["name"] == name]}

    def list_security_groups(self, name: str | None = None) -> dict[str, Any]:
        # substring match, like python-chi's own lookup: callers must compare names exactly
        return {"security_groups": [dict(g) for g in self.c.security_groups.values()
                                    if name is None or name.lower() in g["name"].lower()]}

    def create_security_group(self, body: dict[str, Any]) -> dict[str, Any]:
        self.c.record("neutron", "create_security_group", **body["security_group"])
        gid = self.c.new_id("sg")
        self.c.security_groups[gid] = {"id": gid, **body["security_group"], "security_group_rules": []}
        return {"security_group": dict(self.c.security_groups[gid])}

    def create_security_group_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        rule = body["security_group_rule"]
        self.c.record("neutron", "create_security_group_rule", **rule)
        self.c.security_groups[rule["security_group_id"]]["security_group_rules"].append(dict(rule))
        return {"security_group_rule": rule}

    def delete_security_group(self, security_group: str) -> None:
        self.c.record("neutron", "delete_security_group", group_id=security_group)
        del self.c.security_groups[security_group]

    def list_floatingips(self) -> dict[str, Any]:
        return {"floatingips": [dict(f) for f in self.c.fips.values()]}

    def create_floatingip(self, body: dict[str, Any]) -> dict[str, Any]:
        self.c.record("neutron", "create_floatingip", **body["floatingip"])
        fid = self.c.new_id("fip")
        n = len(self.c.fips) + 10
        self.c.fips[fid] = {"id": fid, "floating_ip_address": f"129.114.0.{n}", "port_id": None,
                            **body["floatingip"]}
        return {"floatingip": dict(self.c.fips[fid])}

    def update_floatingip(self, floatingip: str, body: dict[str, Any]) -> dict[str, Any]:
        fip_id = floatingip
        self.c.record("neutron", "update_floatingip", fip_id=fip_id, **body["floatingip"])
        fip = self.c.fips[fip_id]
        fip["port_id"] = body["floatingip"]["port_id"]
        server = self.c.servers[self.c.ports[fip["port_id"]]["device_id"]]
        server.addresses["sharednet1"].append({"addr": fip["floating_ip_address"], "OS-EXT-IPS:type": "floating"})
        return {"floatingip": dict(fip)}

    def delete_floatingip(self, floatingip: str) -> None:
        self.c.record("neutron", "delete_floatingip", fip_id=floatingip)
        del self.c.fips[floatingip]

    def list_ports(self, device_id: str | None = None) -> dict[str, Any]:
        return {"ports": [p for p in self.c.ports.values() if device_id is None or p["device_id"] == device_id]}


class _Images:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list(self, filters: dict[str, Any] | None = None, **_: Any) -> list[SimpleNamespace]:
        name = (filters or {}).get("name")
        return [i for i in self.c.images if name is None or i.name == name]


class _Volumes:
    def __init__(self, cloud: FakeCloud) -> None:
        self.c = cloud

    def list(self, detailed: bool = True, search_opts: dict[str, Any] | None = None) -> list[SimpleNamespace]:
        return list(self.c.volumes.values())

    def create(self, **kwargs: Any) -> SimpleNamespace:
        self.c.record("cinder", "create_volume", **kwargs)
        vid = self.c.new_id("vol")
        self.c.volumes[vid] = SimpleNamespace(id=vid, status="available", attachments=[], **kwargs)
        return self.c.volumes[vid]

    def get(self, volume_id: str) -> SimpleNamespace:
        return self.c.volumes[volume_id]

    def delete(self, volume: str) -> None:
        self.c.record("cinder", "delete_volume", volume_id=volume)
        del self.c.volumes[volume]
