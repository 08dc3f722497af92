"""Names and the request dicts shared by plan and apply."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from minutes.infra import requests
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
    plan = requests.kvm_plan(params, now=NOW)
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
    plan = requests.gpu_plan(p, now=NOW)
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
