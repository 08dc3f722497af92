"""Deploy the service with ansible/deploy_service.yml (notebook 50_deploy).

local/ci: the playbook runs against localhost and starts MLflow (if not up) and the API through
minutes.platform.local_services. chameleon: the same playbook in compose mode on the KVM node,
one container per registry alias. The compose file is rendered from the role's own template, so
what the notebook shows is what the node gets.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from minutes import REPO_ROOT
from minutes.config import Params

PLAYBOOK = "deploy_service.yml"
ROLE_DIR = REPO_ROOT / "ansible" / "roles" / "service"


def service_url(params: Params) -> str:
    return f"http://{params.serve.host}:{params.serve.port}"


def ensure_ingest_token(params: Params) -> bool:
    """Give this session's service an ingest token when the environment has none; True if made.

    The token lives only in this process's environment (and the service's), never in a file.
    """
    name = params.serve.ingest_token_env
    if os.environ.get(name):
        return False
    os.environ[name] = secrets.token_urlsafe(24)
    return True


def extravars(params: Params, overrides: list[str], mode: str) -> dict[str, Any]:
    s = params.serve
    return {
        "service_mode": mode, "minutes_profile": params.profile, "minutes_overrides": list(overrides),
        "minutes_repo": str(REPO_ROOT), "minutes_python": sys.executable, "serve_host": s.host,
        "serve_port": s.port, "serve_alias": s.model_alias, "start_mlflow": not params.mlflow.tracking_uri,
        "ingest_token_env": s.ingest_token_env, "service_deployments": dict(s.deployments),
        "service_image": s.image, "work_src": str(params.work_dir),
    }


def deploy_local(params: Params, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """Run the playbook against localhost; returns minutes.infra.ansible.PlaybookResult."""
    from minutes.infra.ansible import localhost_inventory, run_playbook

    return run_playbook(PLAYBOOK, localhost_inventory(), extravars(params, list(overrides), "local"), params,
                        timeout_s=900)


def deploy_compose(params: Params, inventory: dict[str, Any] | str, hosts: str = "kvm",
                   ssh_key: str | None = None) -> Any:
    """Run the playbook in compose mode on the KVM node(s) of `inventory` (chameleon profile)."""
    from minutes.infra.ansible import run_playbook

    ev = {**extravars(params, [], "compose"), "service_hosts": hosts}
    return run_playbook(PLAYBOOK, inventory, ev, params, ssh_key=ssh_key, timeout_s=3600)


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
