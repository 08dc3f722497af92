"""99 against fake python-chi clients: order, idempotence, what is kept, local services."""
from __future__ import annotations

from minutes.infra import gpu, kvm, state, teardown


def _order(cloud) -> list[str]:
    return [m for _, m, _ in cloud.deletes()]


def test_teardown_deletes_in_dependency_order_then_nothing(apply_params, fake_chi) -> None:
    kvm.apply(apply_params)
    gpu.apply(apply_params)
    actions = teardown.apply(apply_params)
    kvm_cloud, gpu_cloud = fake_chi["KVM@TACC"], fake_chi["CHI@UC"]
    assert _order(kvm_cloud) == ["delete_server", "delete_floatingip"] + ["delete_security_group"] * 2 + ["delete_lease"]
    assert _order(gpu_cloud) == ["delete_server", "delete_floatingip", "delete_lease"]
    sites = [r["detail"] for r in actions.rows if r["resource"] == "lease"]
    assert len(sites) == 2
    assert actions.rows[-2:] == [
        {"resource": "local service", "name": "api", "action": "not running", "detail": ""},
        {"resource": "local service", "name": "mlflow", "action": "not running", "detail": ""}]
    # GPU node goes first
    first_delete = next(r for r in actions.rows if r["action"] == "deleted")
    assert first_delete["name"] == "minutes-gpu-alice"
    assert kvm_cloud.volumes, "the data volume is kept unless infra.delete_volume"
    assert state.load_state(apply_params, "kvm") is None and state.load_state(apply_params, "gpu") is None
    n_kvm, n_gpu = len(kvm_cloud.deletes()), len(gpu_cloud.deletes())
    again = teardown.apply(apply_params)
    assert len(kvm_cloud.deletes()) == n_kvm and len(gpu_cloud.deletes()) == n_gpu
    assert not [r for r in again.rows if r["action"] == "deleted"]


def test_teardown_can_delete_the_volume_and_leaves_others_alone(params_factory, fake_chi) -> None:
    p = params_factory("infra.mode=apply", "infra.poll_s=0.001", "infra.delete_volume=true")
    kvm.apply(p)
    cloud = fake_chi["KVM@TACC"]
    cloud.fips["fip-bob"] = {"id": "fip-bob", "floating_ip_address": "129.114.9.9", "port_id": None,
                             "description": "bob's"}
    cloud.leases["bob"] = {"id": "bob", "name": "minutes-kvm-lease-bob", "status": "ACTIVE",
                           "reservations": [], "_script": []}
    teardown.apply(p)
    assert not cloud.volumes
    assert "fip-bob" in cloud.fips and cloud.leases["bob"]["status"] == "ACTIVE"


def test_plan_mode_calls_no_cloud_and_stops_local_services(params, fake_chi) -> None:
    rows = teardown.plan(params)
    assert [r["resource"] for r in rows][:3] == ["server", "floating ip", "lease"]  # gpu first
    assert rows[-1]["resource"] == "local services"
    actions = teardown.apply(params)
    assert not fake_chi["KVM@TACC"].calls and not fake_chi["CHI@UC"].calls
    assert [(r["resource"], r["name"]) for r in actions.rows] == [
        ("local service", name) for name in ("prometheus", "router", "candidate", "api", "mlflow")]
