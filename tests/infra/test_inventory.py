"""The Ansible inventory from provisioning states, and 02's plan."""
from __future__ import annotations

import pytest
import yaml

from minutes.infra import configure, inventory, state

KVM = {"floating_ip": "129.114.0.10", "volume_id": "vol-1"}
GPU = {"floating_ip": "192.5.87.20"}


def test_inventory_from_states(params_factory) -> None:
    p = params_factory("infra.ssh_key_file=/keys/id_rsa")
    inv = inventory.build_inventory(p, KVM, GPU)
    children = inv["all"]["children"]
    assert children["kvm"]["hosts"] == {"minutes-kvm-alice": {
        "ansible_host": "129.114.0.10", "ansible_user": "cc", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_private_key_file": "/keys/id_rsa"}}
    assert children["kvm"]["vars"]["platform_volume_device"] == "/dev/vdb"
    assert children["platform"]["hosts"] == {"minutes-kvm-alice": {}}
    assert children["ray_head"]["hosts"] == {"minutes-gpu-alice": {}}
    assert "mlflow_tracking_uri" not in inv["all"]["vars"]  # MLflow is private unless opened
    assert children["gpu"]["vars"]["ray_dashboard_port"] == 8265
    assert children["gpu"]["vars"]["ray_client_port"] == 10001 and children["gpu"]["vars"]["ray_trusted_cidrs"] == []
    opened = inventory.build_inventory(params_factory("infra.public_services=[ssh,api,mlflow]"), KVM, GPU)
    assert opened["all"]["vars"]["mlflow_tracking_uri"] == "http://129.114.0.10:5000"
    assert inv["all"]["vars"]["ray_head_address"] == "ray://127.0.0.1:10001"  # through the SSH tunnel
    rows = inventory.hosts_table(inv)
    assert {(r["group"], r["host"]) for r in rows} >= {("kvm", "minutes-kvm-alice"), ("gpu", "minutes-gpu-alice")}


def test_inventory_without_gpu(params) -> None:
    inv = inventory.build_inventory(params, {"floating_ip": "1.2.3.4"}, None)
    assert set(inv["all"]["children"]) == {"kvm", "platform"}
    assert "platform_volume_device" not in inv["all"]["children"]["kvm"]["vars"]


def test_written_inventory_round_trips(params, tmp_path) -> None:
    inv = inventory.build_inventory(params, KVM, GPU)
    path = inventory.write_inventory(tmp_path / "inventory.yml", inv)
    assert yaml.safe_load(path.read_text()) == inv


def test_apply_mode_needs_state(params_factory) -> None:
    p = params_factory("infra.mode=apply")
    with pytest.raises(configure.NotProvisioned, match="run 00_provision_kvm first"):
        configure.remote_inventory(p)
    state.save_state(p, "kvm", KVM)
    with pytest.raises(configure.NotProvisioned, match="run 01_provision_gpu first"):
        configure.remote_inventory(p)
    state.save_state(p, "gpu", GPU)
    assert configure.remote_inventory(p)["all"]["children"]["gpu"]["hosts"]["minutes-gpu-alice"]["ansible_host"] == GPU["floating_ip"]


def test_plan_mode_inventory_and_runs(params) -> None:
    inv = configure.remote_inventory(params)
    assert inv["all"]["children"]["kvm"]["hosts"]["minutes-kvm-alice"]["ansible_host"] == "<floating ip of minutes-kvm-alice>"
    runs = configure.plan_runs(params)
    assert [r["playbook"] for r in runs] == ["preflight.yml", "base.yml", "platform.yml", "ray.yml"]
    assert configure.as_list("a=1  b=2") == ["a=1", "b=2"] and configure.as_list(["x=1"]) == ["x=1"]
