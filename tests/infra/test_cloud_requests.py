"""Names and the request dicts shared by plan and apply."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from minutes.infra import cloud_requests
from minutes.infra.names import names_for, suffix

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=timezone.utc)


def test_every_name_carries_the_suffix(params) -> None:
    n = names_for(params)
    names = [n.kvm_lease, n.kvm_server, n.kvm_fip, n.kvm_volume, n.gpu_lease, n.gpu_server, n.gpu_fip,
             n.security_group("ssh")]
    assert all(x.startswith("minutes-") and x.endswith("-alice") for x in names)
    assert len(set(names)) == len(names)


def test_suffix_is_sanitised(params_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    assert suffix(params_factory("infra.suffix=Alice.Smith@UNI")) == "alice-smith-uni"
    monkeypatch.setenv("USER", "bob")
    assert suffix(params_factory("infra.suffix=")) == "bob"
    with pytest.raises(ValueError, match="no letters or digits"):
        suffix(params_factory("infra.suffix=@@@"))


def test_kvm_plan_exact(params) -> None:
    plan = cloud_requests.kvm_plan(params, now=NOW)
    assert plan["lease"] == {"name": "minutes-kvm-lease-alice", "start": "now", "end": "2026-11-24 10:30",
                             "reservations": [{"resource_type": "flavor:instance",
                                               "flavor_id": "<id of flavor m1.xlarge>", "amount": 1,
                                               "affinity": None}], "events": []}
    assert plan["server"]["scheduler_hints"] == {}
    assert plan["server"]["flavor"].startswith("<id of flavor reservation:")
    assert plan["floating_ip"] == {"floatingip": {"floating_network_id": "<id of network public>",
                                                  "description": "minutes-kvm-fip-alice"}}
    ssh = plan["security_groups"][0]
    assert ssh == {"name": "minutes-allow-ssh-alice", "description": "Minutes: allow TCP 22 (ssh)",
                   "rules": [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
                              "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}]}
    json.dumps(plan)  # the plan is JSON as is


def test_gpu_plan_exact(params_factory) -> None:
    p = params_factory("infra.gpu.site=CHI@TACC", "infra.gpu.node_type=compute_liqid", "infra.gpu.lease_hours=3")
    plan = cloud_requests.gpu_plan(p, now=NOW)
    assert plan["site"] == "CHI@TACC"
    assert plan["lease"]["end"] == "2026-11-23 13:30"
    assert plan["lease"]["reservations"] == [{"resource_type": "physical:host",
                                              "resource_properties": '["==", "$node_type", "compute_liqid"]',
                                              "hypervisor_properties": "", "min": 1, "max": 1}]
    hint = plan["server"]["scheduler_hints"]["reservation"]
    assert "host reservation" in hint and "lease minutes-gpu-lease-alice" in hint


def test_lease_length_bounds(params_factory) -> None:
    with pytest.raises(Exception, match="lease_hours"):
        params_factory("infra.gpu.lease_hours=200")  # bare metal: 7 days at most


def test_reservations_equal_python_chis_own_builders() -> None:
    """The dicts we send are exactly those python-chi 1.2.x's `Lease.add_*_reservation` build."""
    import chi.lease

    lease = chi.lease.Lease("x", end_date=NOW)
    lease.add_flavor_reservation(id="flv-xl", amount=1)
    lease.add_node_reservation(amount=1, node_type="gpu_a100_pcie")
    assert cloud_requests.flavor_reservation("flv-xl") == lease.flavor_reservations[0]
    assert cloud_requests.node_reservation("gpu_a100_pcie", 1) == lease.node_reservations[0]
    lease.add_node_reservation(amount=3, node_type="compute_liqid")
    assert cloud_requests.node_reservation("compute_liqid", 3) == lease.node_reservations[1]


def test_lease_request_equals_what_python_chi_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Lease.submit` sends blazar `lease.create(name, start, end, reservations, events)`: the same
    keyword arguments, value by value, as our request (captured by the autospec'd manager)."""
    import chi.lease

    from tests.infra.fakes import FakeCloud

    cloud = FakeCloud()
    monkeypatch.setattr(chi.lease, "blazar", lambda *a, **k: cloud.blazar)
    ours = cloud_requests.lease_request("minutes-kvm-lease-alice", [cloud_requests.flavor_reservation("flv-xl")],
                                        24, now=NOW)
    lease = chi.lease.Lease("minutes-kvm-lease-alice", end_date=NOW + timedelta(hours=24))
    lease.add_flavor_reservation(id="flv-xl")
    chi.lease.create_lease(lease.name, lease.flavor_reservations, start_date=lease.start_date,
                           end_date=lease.end_date)  # what Lease.submit calls
    ((_, method, sent),) = cloud.calls
    assert method == "create_lease" and sent == ours


def test_only_public_services_get_security_groups(params_factory) -> None:
    closed = cloud_requests.kvm_plan(params_factory(), now=NOW)
    assert [(g["name"], g["rules"][0]["port_range_min"]) for g in closed["security_groups"]] == [
        ("minutes-allow-ssh-alice", 22), ("minutes-allow-api-alice", 8800)]
    opened = cloud_requests.kvm_plan(params_factory("infra.public_services=[ssh,api,mlflow]",
                                                    "infra.allowed_cidr=203.0.113.0/24"), now=NOW)
    assert [(g["name"], g["rules"][0]["port_range_min"], g["rules"][0]["remote_ip_prefix"])
            for g in opened["security_groups"]] == [("minutes-allow-ssh-alice", 22, "203.0.113.0/24"),
                                                    ("minutes-allow-mlflow-alice", 5000, "203.0.113.0/24"),
                                                    ("minutes-allow-api-alice", 8800, "203.0.113.0/24")]
    assert opened["server"]["security_groups"] == [g["name"] for g in opened["security_groups"]]
    tf = cloud_requests.terraform_vars(params_factory("infra.tool=terraform"), "flv")
    assert tf["ports"] == {"ssh": 22, "api": 8800}


@pytest.mark.parametrize("services, words", [("[api]", "must keep 'ssh'"), ("[ssh,api,postgres]", "postgres")])
def test_public_services_are_checked(params_factory, services: str, words: str) -> None:
    with pytest.raises(Exception, match=words):
        params_factory(f"infra.public_services={services}")
