"""Fixtures: ci params in tmp_path, credentials in the environment, python-chi's client
factories replaced by per-site fakes (chosen by python-chi's current region, so a call made
before `use_site` switched sites lands on the wrong fake and fails the test)."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.config import load_params
from tests.infra.fakes import FakeCloud

SECRET = "planted-SECRET-9f8e7d6c5b4a"


@pytest.fixture
def params_factory(tmp_path: Path):
    def make(*overrides: str):
        return load_params("ci", [f"work_dir={tmp_path / 'work'}", "infra.suffix=alice", *overrides])
    return make


@pytest.fixture
def params(params_factory):
    return params_factory()


@pytest.fixture
def apply_params(params_factory):
    """Apply mode with instant polling (tests drive the state machines, not the clock)."""
    return params_factory("infra.mode=apply", "infra.poll_s=0.001", "infra.lease_timeout_s=2",
                          "infra.server_timeout_s=2", "infra.ssh_timeout_s=1")


@pytest.fixture
def app_creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """An application credential per site, as the README tells users to export them."""
    for var in [v for v in __import__("os").environ if v.startswith("OS_")]:
        monkeypatch.delenv(var)
    for prefix in ("KVM_TACC", "CHI_UC", "CHI_TACC"):
        monkeypatch.setenv(f"{prefix}_OS_APPLICATION_CREDENTIAL_ID", f"{prefix.lower()}-id-123456")
        monkeypatch.setenv(f"{prefix}_OS_APPLICATION_CREDENTIAL_SECRET", SECRET)


@pytest.fixture
def fake_chi(monkeypatch: pytest.MonkeyPatch, app_creds) -> dict[str, FakeCloud]:
    """Patch chi.lease.blazar, chi.server.nova, chi.network.neutron, chi.image.glance, chi.storage.cinder."""
    import chi.context
    import chi.image
    import chi.lease
    import chi.network
    import chi.server
    import chi.storage

    clouds = {"KVM@TACC": FakeCloud("KVM@TACC"), "CHI@UC": FakeCloud("CHI@UC")}

    def current() -> FakeCloud:
        return clouds[chi.context.get("region_name")]

    monkeypatch.setattr(chi.lease, "blazar", lambda *a, **k: current().blazar)
    monkeypatch.setattr(chi.server, "nova", lambda *a, **k: current().nova)
    monkeypatch.setattr(chi.network, "neutron", lambda *a, **k: current().neutron)
    monkeypatch.setattr(chi.image, "glance", lambda *a, **k: current().glance)
    monkeypatch.setattr(chi.storage, "cinder", lambda *a, **k: current().cinder)
    # no real TCP probe of fake addresses: record the SSH waits instead
    probes: list[str] = []
    import minutes.infra.gpu
    import minutes.infra.kvm

    monkeypatch.setattr(minutes.infra.kvm, "wait_for_ssh", lambda host, waiter, port=22: probes.append(host))
    monkeypatch.setattr(minutes.infra.gpu, "wait_for_ssh", lambda host, waiter, port=22: probes.append(host))
    clouds["ssh_probes"] = probes  # type: ignore[assignment]
    return clouds
