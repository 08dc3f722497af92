"""Deploy the service with ansible/deploy_service.yml (notebook 50_deploy).

local/ci: the playbook runs against localhost and starts MLflow (if not up) and the API through
minutes.platform.local_services. chameleon: the same playbook in compose mode on the KVM node,
one container per registry alias. The compose file is rendered from the role's own template, so
what the notebook shows is what the node gets.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minutes import REPO_ROOT
from minutes.config import Params

PLAYBOOK = "deploy_service.yml"
ROLE_DIR = REPO_ROOT / "ansible" / "roles" / "service"
#: What the API image is built from (the Dockerfile copies these from the unpacked archive).
SOURCE_PATHS = ("lib", "params", "pyproject.toml", "README.md")


def service_url(params: Params) -> str:
    return f"http://{params.serve.host}:{params.serve.port}"


def ensure_ingest_token(params: Params) -> bool:
    """The ingest token into this process's environment (minutes.platform.tokens: the user's,
    else the one kept for the work dir, else a new one); True if made now."""
    from minutes.platform.tokens import ensure_token

    return ensure_token(params, params.serve.ingest_token_env)


def extravars(params: Params, overrides: list[str], mode: str) -> dict[str, Any]:
    from minutes.infra.configure import generated_dir  # where the platform keeps its secrets

    s = params.serve
    return {
        "service_mode": mode, "minutes_profile": params.profile, "minutes_overrides": list(overrides),
        "minutes_repo": str(REPO_ROOT), "minutes_python": sys.executable, "serve_host": s.host,
        "serve_port": s.port, "serve_alias": s.model_alias, "start_mlflow": not params.mlflow.tracking_uri,
        "ingest_token_env": s.ingest_token_env, "service_deployments": dict(s.deployments),
        "service_image": s.image, "work_src": str(params.work_dir),
        "answer_log_backend": s.answer_log.backend, "answer_log_url_env": s.answer_log.url_env,
        "router_port": params.infra.kvm.ports.get("router", s.canary.port),
        "router_public": "router" in params.infra.public_services,
        "router_token_env": s.canary.control_token_env, "compose_router": s.compose_router,
        "canary_aliases": {"production": s.canary.production_alias, "candidate": s.canary.candidate_alias},
        "platform_generated_dir": str(generated_dir(params)),
    }


@dataclass
class Deployment:
    """What a deploy made: one base URL per deployment name, and the playbook's result."""

    mode: str
    urls: dict[str, str]
    result: Any
    token_generated: bool = False

    def table(self) -> list[dict[str, Any]]:
        """One row per deployment (name, URL, alias) for a DataFrame."""
        return [{"deployment": name, "url": url, "mode": self.mode,
                 "playbook": getattr(self.result, "status", "?"), "seconds": getattr(self.result, "seconds", 0.0)}
                for name, url in self.urls.items()]


def deploy(params: Params, overrides: list[str] | tuple[str, ...] = ()) -> Deployment:
    """Deploy for the profile: localhost processes in plan mode (local/ci), containers on the
    KVM node in apply mode (chameleon), one per alias in `serve.deployments`."""
    made = ensure_ingest_token(params)
    if params.infra.mode != "apply":
        result = deploy_local(params, overrides)
        return Deployment("local", {params.serve.model_alias: service_url(params)}, result, made)
    from minutes.infra.configure import remote_inventory

    result = deploy_compose(params, remote_inventory(params), hosts="kvm", ssh_key=None)
    return Deployment("compose", compose_urls(params), result, made)


def kvm_address(params: Params) -> str:
    """The KVM node's floating IP (from 00's provisioning state; NotProvisioned before it)."""
    from minutes.infra import state
    from minutes.infra.configure import NotProvisioned

    found = state.load_state(params, "kvm")
    if not found or not found.get("floating_ip"):
        raise NotProvisioned(f"no floating IP in {state.state_path(params, 'kvm').name}: run 00_provision_kvm first")
    return str(found["floating_ip"])


def compose_urls(params: Params) -> dict[str, str]:
    """Alias -> base URL of each compose deployment on the KVM node."""
    address = kvm_address(params)
    return {alias: f"http://{address}:{port}" for alias, port in params.serve.deployments.items()}


def router_url(params: Params) -> str:
    """Where the canary router answers: the local one on loopback; on chameleon the router
    container, at the node's address when `router` is a public service, else through the SSH
    tunnel on the controller's loopback (minutes.infra.tunnels)."""
    c = params.serve.canary
    if params.infra.mode != "apply":
        return f"http://{c.host}:{c.port}"
    port = params.infra.kvm.ports.get("router", c.port)
    host = kvm_address(params) if "router" in params.infra.public_services else "127.0.0.1"
    return f"http://{host}:{port}"


def deploy_local(params: Params, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """Run the playbook against localhost; returns minutes.infra.ansible.PlaybookResult."""
    from minutes.infra.ansible import localhost_inventory, run_playbook

    return run_playbook(PLAYBOOK, localhost_inventory(), extravars(params, list(overrides), "local"), params,
                        timeout_s=900)


def source_archive(params: Params) -> Path:
    """The package and profiles as one .tar.gz for the node (one transfer, not one per file).

    Members are sorted, with fixed times and owners, so unchanged sources give the same bytes
    and Ansible's unarchive reports no change."""
    import gzip
    import tarfile

    from minutes.io import atomic_path

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if "__pycache__" in info.name.split("/") or info.name.endswith(".pyc"):
            return None
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
        return info

    files = sorted(p for top in SOURCE_PATHS for p in ([REPO_ROOT / top] if (REPO_ROOT / top).is_file()
                                                         else (REPO_ROOT / top).rglob("*")) if p.is_file())
    dest = params.stage_dir("deploy") / "minutes-src.tar.gz"
    with atomic_path(dest) as tmp, tmp.open("wb") as raw:
        # gzip's header would carry a time and the temporary file's name: neither
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in files:
                tar.add(path, arcname=str(path.relative_to(REPO_ROOT)), recursive=False, filter=clean)
    return dest


def deploy_compose(params: Params, inventory: dict[str, Any] | str, hosts: str = "kvm",
                   ssh_key: str | None = None, dry_run: bool = False) -> Any:
    """Run the playbook in compose mode on the KVM node(s) of `inventory` (chameleon profile);
    `dry_run`: Ansible's check mode (what would change, with diffs; nothing is changed)."""
    from minutes.infra.ansible import run_playbook

    ev = {**extravars(params, [], "compose"), "service_hosts": hosts,
          "source_archive": str(source_archive(params))}
    return run_playbook(PLAYBOOK, inventory, ev, params, ssh_key=ssh_key, timeout_s=3600, dry_run=dry_run)


def syntax_check(mode: str = "compose") -> str:
    """`ansible-playbook --syntax-check` of the playbook in a mode (what runs only on Chameleon)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible" / "ansible.cfg"),
           "ANSIBLE_ROLES_PATH": str(REPO_ROOT / "ansible" / "roles"),
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(["ansible-playbook", "--syntax-check", "-i", "localhost,", "-e", f"service_mode={mode}",
                           str(REPO_ROOT / "ansible" / PLAYBOOK)], capture_output=True, text=True, env=env,
                          timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{PLAYBOOK} ({mode}) fails the syntax check:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


def render_template(name: str, params: Params) -> str:
    """Render one of the role's templates (docker-compose.yml.j2, Dockerfile.j2) as Ansible would."""
    import jinja2
    import yaml

    defaults = yaml.safe_load((ROLE_DIR / "defaults" / "main.yml").read_text())
    variables = {**defaults, **extravars(params, [], "compose"), "compose_project": defaults["compose_project"]}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE_DIR / "templates"), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template(name).render(**variables)


def inputs(params: Params) -> list[dict[str, Any]]:
    """What the service will load, checked before deploying (a clear error when ETL/index are missing)."""
    from minutes import schema
    from minutes.index import store
    from minutes.platform import mlflow_server

    utts = params.stage_dir("etl") / schema.UTTERANCES
    if not utts.is_file():
        raise FileNotFoundError(f"{utts}: no utterances; run notebook 10_etl first")
    index_dir = params.stage_dir("index")
    try:
        version = store.current_version(index_dir)
    except (FileNotFoundError, OSError):
        version = None
    if not version:
        raise FileNotFoundError(f"{index_dir}: no index; run notebook 20_index first")
    with utts.open("rb") as fh:
        n_utts = sum(1 for _ in fh)
    rows = [{"input": "utterances", "where": str(utts), "state": f"{n_utts} utterances"},
            {"input": "index", "where": str(index_dir), "state": f"version {version}"}]
    uri = mlflow_server.tracking_uri(params)
    alias = params.serve.model_alias
    if params.mlflow.tracking_uri or mlflow_server.local_service(params).healthy():
        from minutes.serve.model_watch import registry_version

        try:
            held = registry_version(params)
            state = f"version {held}" if held else "no version holds it: extractive answers"
        except Exception as exc:  # an unreachable registry is reported, the deploy still goes on
            state = f"registry not readable ({type(exc).__name__})"
    else:
        state = "MLflow not running yet: the playbook starts it, the service reads the alias"
    rows.append({"input": f"model {params.train.registered_model}@{alias}", "where": uri, "state": state})
    return rows
