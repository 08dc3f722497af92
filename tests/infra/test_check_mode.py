"""The remote playbooks in Ansible's check mode (`--check --diff`) on this machine.

The inventory is the one 02 generates for Chameleon (minutes.infra.inventory) with both nodes
reached over a local connection, the variables are 02's and 50's, so every task of the docker,
NVIDIA toolkit, data volume, platform (compose), Ray head and service (compose) roles is
templated and every module validates its arguments: an undefined variable, a template error or a
misspelled argument fails here. The apt repositories are served by a real HTTP server on loopback
(check mode asks for the signing keys; this machine has no internet). Folders point into
tmp_path; check mode changes nothing, which the test also checks.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from minutes.infra import configure, inventory
from minutes.infra.ansible import ANSIBLE_DIR, PlaybookFailed, PlaybookResult, run_playbook
from minutes.platform.processes import free_port
from minutes.serve import deploy

SYSTEM_PYTHON = "/usr/bin/python3"  # the apt modules need python3-apt, which the venv lacks


def _system_python_has_apt() -> bool:
    if not Path(SYSTEM_PYTHON).is_file():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import apt, apt_pkg"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the roles become root; check mode needs it too"),
    pytest.mark.skipif(not _system_python_has_apt(), reason=f"{SYSTEM_PYTHON} has no python3-apt"),
]

#: Tasks that must really be checked (not skipped) in each playbook.
CHECKED = {
    "base.yml": {"Packages for the repository", "Docker's signing key", "Docker's repository",
                 "NVIDIA's signing key", "NVIDIA's repository"},
    "platform.yml": {"Is the volume formatted?", "Mount point", "Mounted at boot",
                     "Secret values (controller environment, else generated once on the controller)",
                     "Folders", "Environment file with the secrets (root only)",
                     "Compose file and MLflow's basic-auth configuration (no secrets in either)",
                     "Prometheus' configuration is given (minutes.infra.configure renders it)",
                     "Data folders of Prometheus and Grafana (owned by their images' users)",
                     "Prometheus' configuration and targets (the scrape job of minutes.platform.prometheus_server)",
                     "Prometheus' rule files (the *-rules.yml that prometheus.yml names)",
                     "Dashboard, Grafana's provisioning and the answer log's database script (repository files)"},
    "ray.yml": {"nftables (the firewall that keeps Ray's ports private)", "Firewall rules for Ray's ports",
                "Firewall unit (the rules again after a reboot, before docker starts Ray)", "Compose file"},
    # (unarchive validates its arguments, then skips: tar archives have no check mode)
    "deploy_service.yml": {"Build folder on the node",
                           "Copy the work products the service reads (ETL utterances, index)",
                           "Dockerfile and compose file"},
}
#: Files outside tmp_path that the roles would change (check mode must leave them alone).
SYSTEM_PATHS = [Path("/etc/fstab"), Path("/etc/apt/sources.list.d"), Path("/etc/systemd/system"),
                Path("/etc/apt/keyrings"), Path("/etc/minutes")]


def _free_port() -> int:
    return free_port(range(20700, 20800))


@pytest.fixture(scope="module")
def apt_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Docker's and NVIDIA's repository roots (only the signing keys: check mode fetches nothing else)."""
    root = tmp_path_factory.mktemp("mirror")
    for key in ("docker/gpg", "nvidia/gpgkey"):
        (root / key).parent.mkdir(parents=True)
        (root / key).write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n(test key)\n-----END PGP PUBLIC KEY BLOCK-----\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _snapshot() -> dict[str, str]:
    out = {}
    for path in SYSTEM_PATHS:
        if path.is_file():
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[str(path)] = " ".join(sorted(p.name for p in path.iterdir()))
        else:
            out[str(path)] = "(absent)"
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, apt_mirror: str) -> dict[str, Any]:
    """02's inventory and variables for both nodes, pointed at this machine and tmp folders."""
    from minutes.config import load_params

    tmp = tmp_path_factory.mktemp("check")
    params = load_params("chameleon", [f"work_dir={tmp / 'work'}", "infra.suffix=alice"])
    for stage, name in (("etl", "utterances.jsonl"), ("index", "CURRENT")):
        (params.stage_dir(stage)).mkdir(parents=True)
        (params.stage_dir(stage) / name).write_text("{}\n")
    inv = inventory.build_inventory(params, {"floating_ip": "127.0.0.1", "volume_id": "vol-1"},
                                    {"floating_ip": "127.0.0.1"})
    become = "sudo" if shutil.which("sudo") else "su"  # root needs no password for either
    for group in inv["all"]["children"].values():
        for host in (group.get("hosts") or {}).values():
            if host:
                host.update(ansible_connection="local", ansible_python_interpreter=SYSTEM_PYTHON,
                            ansible_become_method=become)
                host.pop("ansible_ssh_private_key_file", None)
    device = tmp / "volume.img"  # a blank "volume": blkid finds no filesystem, so it would format
    with device.open("wb") as fh:
        fh.truncate(1 << 20)
    compose_dir = tmp / "node" / "minutes"
    for sub in ("src", "work"):  # as on a node deployed to before: the unarchive module is reached
        (compose_dir / sub).mkdir(parents=True)
    folders = {"platform_dir": tmp / "node" / "platform", "platform_data_dir": tmp / "node" / "data",
               "ray_dir": tmp / "node" / "ray", "compose_dir": compose_dir,
               "ray_firewall_file": tmp / "node" / "etc" / "ray-firewall.nft"}
    ev = {**configure.extravars(params, "compose"),
          **deploy.extravars(params, [], "compose"), "service_hosts": "kvm",
          "source_archive": str(deploy.source_archive(params)),
          "docker_apt_url": f"{apt_mirror}/docker", "nvidia_toolkit_apt_url": f"{apt_mirror}/nvidia",
          "platform_volume_device": str(device), **{k: str(v) for k, v in folders.items()}}
    return {"params": params, "inventory": inv, "extravars": ev, "tmp": tmp, "folders": folders}


@pytest.fixture(scope="module")
def results(setup: dict[str, Any]) -> dict[str, PlaybookResult]:
    before = _snapshot()
    out = {pb: run_playbook(pb, setup["inventory"], setup["extravars"], private_data_dir=setup["tmp"] / "pdd",
                            dry_run=True, timeout_s=600)
           for pb in CHECKED}
    assert _snapshot() == before, "check mode changed files on this machine"
    return out


def _after(result: PlaybookResult, task: str) -> str:
    (after,) = {t["after"] for t in result.tasks if t["task"] == task}
    return after


@pytest.mark.parametrize("playbook", sorted(CHECKED))
def test_playbook_passes_check_mode(results: dict[str, PlaybookResult], playbook: str) -> None:
    result = results[playbook]
    assert result.ok, result.summary()
    statuses: dict[str, set[str]] = {}
    for t in result.tasks:
        statuses.setdefault(t["task"], set()).add(t["status"])
    unchecked = {task for task in CHECKED[playbook] if not statuses.get(task, set()) - {"skipped"}}
    assert not unchecked, f"skipped or never reached in check mode: {sorted(unchecked)}"


def test_check_mode_changes_nothing(results: dict[str, PlaybookResult], setup: dict[str, Any]) -> None:
    assert results["platform.yml"].ok
    for name, path in setup["folders"].items():
        assert not path.exists() or name == "compose_dir", name
    assert not [p.name for p in setup["folders"]["compose_dir"].rglob("*") if p.is_file()]


def test_diffs_show_private_ray_and_platform_without_secrets(results: dict[str, PlaybookResult],
                                                             setup: dict[str, Any]) -> None:
    ray = results["ray.yml"]
    compose = _after(ray, "Compose file")
    assert "--node-ip-address 127.0.0.1" in compose and "--dashboard-host 127.0.0.1" in compose
    firewall = _after(ray, "Firewall rules for Ray's ports")
    assert 'iif "lo" accept' in firewall and "6379" in firewall and "10001" in firewall
    platform = _after(results["platform.yml"], "Compose file and MLflow's basic-auth configuration (no secrets in either)")
    assert '"127.0.0.1:5000:5000"' in platform and "--app-name basic-auth" in platform
    generated = [p.read_text().strip() for p in configure.generated_dir(setup["params"]).iterdir()]
    # postgres, minio, mlflow admin, flask secret, the answer log's login, grafana admin, the canary
    # router's control token: made once on the controller (the service role reads the answer log's
    # from the same file; minutes.online.canary reads the router's)
    assert len(generated) == 7
    shown = "\n".join(t["after"] + t["task"] for r in results.values() for t in r.tasks)
    assert not [g for g in generated if g in shown]
    artifacts = [p for r in results.values() for p in r.artifact_dir.rglob("*") if p.is_file()]
    assert not [p for p in artifacts if any(g in p.read_text(errors="ignore") for g in generated)]


@pytest.mark.parametrize("mutation", [
    ("tasks/main.yml", "    dest: \"{{ ray_dir }}/docker-compose.yml\"", "    dst: \"{{ ray_dir }}/docker-compose.yml\""),
    ("templates/ray-firewall.nft.j2", "{{ ray_worker_ports.min }}", "{{ ray_worker_port.min }}"),
], ids=["misspelled-argument", "undefined-variable"])
def test_check_mode_catches_a_broken_role(setup: dict[str, Any], tmp_path: Path,
                                          mutation: tuple[str, str, str]) -> None:
    """The same run on a copy of ray.yml whose role has one mistake fails, naming the task."""
    rel, old, new = mutation
    shutil.copy(ANSIBLE_DIR / "ray.yml", tmp_path / "ray.yml")
    role = tmp_path / "roles" / "ray_head"
    shutil.copytree(ANSIBLE_DIR / "roles" / "ray_head", role)
    text = (role / rel).read_text()
    assert old in text
    (role / rel).write_text(text.replace(old, new))
    with pytest.raises(PlaybookFailed) as err:
        run_playbook(tmp_path / "ray.yml", setup["inventory"], setup["extravars"],
                     private_data_dir=tmp_path / "pdd", dry_run=True, timeout_s=600)
    failed = {f["task"] for f in err.value.result.failures}
    assert failed == {"Compose file" if rel.startswith("tasks") else "Firewall rules for Ray's ports"}
