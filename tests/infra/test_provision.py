"""00 and 01 in apply mode against fake python-chi clients: exact requests, reuse, failures."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from minutes.infra import cloud_requests, gpu, kvm, state
from minutes.infra.cloud import CloudError
from minutes.infra.provision import ProvisionError, WaitTimeout


def _calls(cloud, method):
    return [kw for _, m, kw in cloud.calls if m == method]


def test_kvm_apply_sends_the_exact_requests(apply_params, fake_chi) -> None:
    node, actions = kvm.apply(apply_params)
    cloud = fake_chi["KVM@TACC"]
    (lease,) = _calls(cloud, "create_lease")
    assert lease["name"] == "minutes-kvm-lease-alice"
    assert lease["start"] == "now" and lease["events"] == []
    assert lease["reservations"] == [{"resource_type": "flavor:instance", "flavor_id": "flv-xl", "amount": 1,
                                      "affinity": None}]
    end = datetime.strptime(lease["end"], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    assert abs((end - datetime.now(timezone.utc)).total_seconds() - 24 * 3600) < 120
    rid = node["reservation_id"]
    assert rid != node["lease_id"]
    groups = _calls(cloud, "create_security_group")
    # closed by default: only SSH and the API face the internet
    assert [g["name"] for g in groups] == ["minutes-allow-ssh-alice", "minutes-allow-api-alice"]
    rules = _calls(cloud, "create_security_group_rule")
    assert [(r["port_range_min"], r["port_range_max"], r["protocol"], r["direction"], r["remote_ip_prefix"])
            for r in rules] == [(22, 22, "tcp", "ingress", "0.0.0.0/0"), (8800, 8800, "tcp", "ingress", "0.0.0.0/0")]
    (server,) = _calls(cloud, "create_server")
    assert server == {"name": "minutes-kvm-alice", "image": "img-ubuntu", "flavor": rid,  # reserved flavor
                      "key_name": "alice-jupyter", "nics": [{"net-id": "net-shared"}], "scheduler_hints": {},
                      "security_groups": [g["name"] for g in groups]}
    (fip,) = _calls(cloud, "create_floatingip")
    assert fip == {"floating_network_id": "net-public", "description": "minutes-kvm-fip-alice"}
    (bind,) = _calls(cloud, "update_floatingip")
    assert bind["port_id"] == f"port-{node['server_id']}"
    (volume,) = _calls(cloud, "create_volume")
    assert volume["size"] == 50 and volume["name"] == "minutes-kvm-data-alice"
    assert node["floating_ip"] == "129.114.0.10"
    assert fake_chi["ssh_probes"] == ["129.114.0.10"]
    assert state.load_state(apply_params, "kvm") == node
    assert {a["action"] for a in actions.rows} >= {"created", "allocated", "attached", "reachable"}


def test_kvm_rerun_creates_nothing_new(apply_params, fake_chi) -> None:
    first, _ = kvm.apply(apply_params)
    cloud = fake_chi["KVM@TACC"]
    before = len(cloud.creates())
    second, actions = kvm.apply(apply_params)
    assert len(cloud.creates()) == before
    assert second == first
    assert {a["action"] for a in actions.rows} == {"reused", "reachable"}


def test_rerun_ignores_terminated_lease_of_same_name(apply_params, fake_chi) -> None:
    """python-chi's own name lookup would create another lease each time; ours skips history."""
    first, _ = kvm.apply(apply_params)
    cloud = fake_chi["KVM@TACC"]
    cloud.leases["old"] = {"id": "old", "name": "minutes-kvm-lease-alice", "status": "TERMINATED",
                           "reservations": [], "_script": []}
    kvm.apply(apply_params)
    assert len(_calls(cloud, "create_lease")) == 1


def test_existing_group_gets_missing_rule_and_substring_names_are_ignored(apply_params, fake_chi) -> None:
    cloud = fake_chi["KVM@TACC"]
    cloud.security_groups["sg-x"] = {"id": "sg-x", "name": "minutes-allow-ssh-alice-old", "security_group_rules": []}
    cloud.security_groups["sg-ssh"] = {"id": "sg-ssh", "name": "minutes-allow-ssh-alice", "security_group_rules": []}
    kvm.apply(apply_params)
    created = [g["name"] for g in _calls(cloud, "create_security_group")]
    assert created == ["minutes-allow-api-alice"]
    ssh_rules = [r for r in _calls(cloud, "create_security_group_rule") if r["security_group_id"] == "sg-ssh"]
    assert [r["port_range_min"] for r in ssh_rules] == [22]
    assert cloud.security_groups["sg-x"]["security_group_rules"] == []


def test_never_grabs_someone_elses_free_floating_ip(apply_params, fake_chi) -> None:
    cloud = fake_chi["KVM@TACC"]
    cloud.fips["fip-bob"] = {"id": "fip-bob", "floating_ip_address": "129.114.9.9", "port_id": None,
                             "description": "bob's"}
    node, _ = kvm.apply(apply_params)
    assert node["floating_ip"] != "129.114.9.9"
    assert cloud.fips["fip-bob"]["port_id"] is None


def test_gpu_server_uses_reservation_id_not_lease_id(apply_params, fake_chi) -> None:
    node, _ = gpu.apply(apply_params)
    cloud = fake_chi["CHI@UC"]
    assert not fake_chi["KVM@TACC"].calls  # everything went to the GPU site
    (lease,) = _calls(cloud, "create_lease")
    assert lease["reservations"] == [{"resource_type": "physical:host",
                                      "resource_properties": json.dumps(["==", "$node_type", "gpu_a100_pcie"]),
                                      "hypervisor_properties": "", "min": 1, "max": 1}]
    (server,) = _calls(cloud, "create_server")
    assert server["scheduler_hints"] == {"reservation": node["reservation_id"]}
    assert node["reservation_id"] != node["lease_id"]
    assert server["flavor"] == "flv-bm" and server["image"] == "img-cuda"
    assert "security_groups" not in server  # not used on bare metal
    assert _calls(cloud, "create_floatingip")[0]["description"] == "minutes-gpu-fip-alice"


def test_gpu_skipped_without_gpu_stage(params_factory, fake_chi) -> None:
    p = params_factory("infra.mode=apply", "infra.gpu.enabled=false")
    node, actions = gpu.apply(p)
    assert node is None and actions.rows[0]["action"] == "skipped"
    assert gpu.plan(p) is None
    assert not fake_chi["CHI@UC"].calls


def test_lease_error_surfaces_blazar_reason(apply_params, fake_chi) -> None:
    cloud = fake_chi["KVM@TACC"]
    cloud.lease_script = ["PENDING", "ERROR"]
    cloud.lease_reason = "Not enough resources available with query m1.xlarge"
    with pytest.raises(ProvisionError, match="ERROR: Not enough resources available"):
        kvm.apply(apply_params)
    assert not _calls(cloud, "create_server")


def test_lease_create_refusal_surfaces_reason(apply_params, fake_chi) -> None:
    fake_chi["KVM@TACC"].create_lease_error = RuntimeError("ERROR: Insufficient flavor capacity (HTTP 409)")
    with pytest.raises(CloudError, match="Insufficient flavor capacity"):
        kvm.apply(apply_params)


def test_server_error_surfaces_nova_fault(apply_params, fake_chi) -> None:
    cloud = fake_chi["CHI@UC"]
    cloud.server_script = ["BUILD", "ERROR"]
    cloud.server_fault = {"message": "No valid host was found. There are not enough hosts available."}
    with pytest.raises(ProvisionError, match="No valid host was found"):
        gpu.apply(apply_params)
    # a re-run refuses to reuse the server in ERROR instead of returning it
    with pytest.raises(ProvisionError, match="exists in ERROR"):
        gpu.apply(apply_params)
    assert len(_calls(cloud, "create_server")) == 1


def test_lease_that_never_starts_times_out(apply_params, fake_chi) -> None:
    fake_chi["KVM@TACC"].lease_script = ["PENDING"] * 100_000
    with pytest.raises(WaitTimeout, match="timed out after 2 s waiting for lease"):
        kvm.apply(apply_params)


def test_missing_key_pair_is_named(apply_params, fake_chi) -> None:
    fake_chi["KVM@TACC"].keypairs.clear()
    with pytest.raises(ProvisionError, match="no key pair named 'alice-jupyter'"):
        kvm.apply(apply_params)


def test_terraform_tool_plan_has_vars_not_server(params_factory) -> None:
    p = params_factory("infra.tool=terraform")
    plan = kvm.plan(p)
    assert "server" not in plan and plan["terraform_vars"]["instance_name"] == "minutes-kvm-alice"
    assert plan["terraform_commands"][0].split()[2] == "init"
    assert state.plan_path(p, "kvm").is_file()


def _resolve(obj, ids: dict[str, str]):
    """`obj` with each plan placeholder replaced by the ID the cloud gave."""
    if isinstance(obj, dict):
        return {k: _resolve(v, ids) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve(v, ids) for v in obj]
    return ids.get(obj, obj) if isinstance(obj, str) else obj


def test_plan_matches_apply_requests(apply_params, params, fake_chi) -> None:
    """Plan mode renders the very requests apply sends, value by value once IDs are filled in."""
    plan = kvm.plan(params)
    node, _ = kvm.apply(apply_params)
    cloud = fake_chi["KVM@TACC"]
    ids = {"<id of flavor m1.xlarge>": "flv-xl", "<id of image CC-Ubuntu24.04>": "img-ubuntu",
           "<id of network sharednet1>": "net-shared", "<id of network public>": "net-public",
           "<id of flavor reservation:<id of the flavor reservation in lease minutes-kvm-lease-alice>>":
               node["reservation_id"]}
    (server,) = _calls(cloud, "create_server")
    assert _resolve(plan["server"], ids) == server
    (lease,) = _calls(cloud, "create_lease")
    assert {**_resolve(plan["lease"], ids), "end": None} == {**lease, "end": None}  # end: a different now
    sent_groups = [{**g, "rules": [{k: v for k, v in r.items() if k != "security_group_id"}
                                   for r in _calls(cloud, "create_security_group_rule")
                                   if cloud.security_groups[r["security_group_id"]]["name"] == g["name"]]}
                   for g in _calls(cloud, "create_security_group")]
    assert plan["security_groups"] == sent_groups
    assert _resolve(plan["floating_ip"]["floatingip"], ids) == _calls(cloud, "create_floatingip")[0]
    assert plan["volume"] == _calls(cloud, "create_volume")[0]
    assert cloud_requests.reserved_flavor_name("r1") == "reservation:r1"


def test_detached_floating_ip_is_reattached_not_reallocated(apply_params, fake_chi) -> None:
    first, _ = kvm.apply(apply_params)
    cloud = fake_chi["KVM@TACC"]
    (fip,) = cloud.fips.values()
    fip["port_id"] = None
    server = cloud.servers[first["server_id"]]
    server.addresses["sharednet1"] = [a for a in server.addresses["sharednet1"] if a["OS-EXT-IPS:type"] != "floating"]
    second, actions = kvm.apply(apply_params)
    assert len(_calls(cloud, "create_floatingip")) == 1 and len(_calls(cloud, "update_floatingip")) == 2
    assert second["floating_ip"] == first["floating_ip"]
    assert ("floating ip", "attached") in {(a["resource"], a["action"]) for a in actions.rows}


def test_server_stuck_building_times_out(apply_params, fake_chi) -> None:
    fake_chi["CHI@UC"].server_script = ["BUILD"] * 100_000
    with pytest.raises(WaitTimeout, match="waiting for server"):
        gpu.apply(apply_params)


def test_wait_for_ssh_real_socket_and_timeout() -> None:
    import socket

    from minutes.infra.provision import Waiter, wait_for_ssh

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        wait_for_ssh("127.0.0.1", Waiter(timeout_s=5, poll_s=0.01), port=port)
    ticks = iter(range(1000))
    with pytest.raises(WaitTimeout, match="SSH on 127.0.0.1"):
        wait_for_ssh("127.0.0.1", Waiter(timeout_s=3, poll_s=1, sleep=lambda s: None, clock=lambda: next(ticks)),
                     port=port)  # closed now


def test_configure_apply_runs_every_playbook_on_the_inventory(apply_params, monkeypatch) -> None:
    from minutes.infra import configure

    state.save_state(apply_params, "kvm", {"floating_ip": "129.114.0.10", "volume_id": "vol-1"})
    state.save_state(apply_params, "gpu", {"floating_ip": "192.5.87.20"})
    seen = []
    monkeypatch.setattr(configure, "run_playbook", lambda pb, inv, ev, p, **kw: seen.append((pb, inv, ev, kw)))
    configure.run_remote(apply_params, ["x=1"])
    assert [s[0] for s in seen] == ["preflight.yml", "base.yml", "platform.yml", "ray.yml"]
    inv, ev = seen[0][1], seen[0][2]
    assert inv["all"]["children"]["gpu"]["hosts"]["minutes-gpu-alice"]["ansible_host"] == "192.5.87.20"
    assert ev["platform_mode"] == "compose" and ev["minutes_overrides"] == ["x=1"]
    assert configure.inventory_path(apply_params).is_file()
    assert not [k for k in ev if "secret" in k.lower() or "password" in k.lower()]


def test_apply_without_credentials_names_the_variables(apply_params, monkeypatch) -> None:
    import os

    from minutes.infra.context import MissingCredentials

    for var in [v for v in os.environ if "OS_" in v]:
        monkeypatch.delenv(var)
    with pytest.raises(MissingCredentials, match="KVM_TACC_OS_APPLICATION_CREDENTIAL_ID"):
        kvm.apply(apply_params)
    with pytest.raises(MissingCredentials, match="CHI_UC_OS_APPLICATION_CREDENTIAL_SECRET"):
        gpu.apply(apply_params)
