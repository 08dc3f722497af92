"""Closed by default on Chameleon: the rendered compose files bind private services to loopback,
MLflow runs its basic-auth app, 02 prints the SSH tunnels, and a real `mlflow server --app-name
basic-auth` refuses an unauthenticated request."""
from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
import yaml

from minutes.infra import configure, state, tunnels
from minutes.infra.ansible import ANSIBLE_DIR

PLATFORM = ANSIBLE_DIR / "roles" / "platform"


def render(role: str, template: str, **overrides: Any) -> str:
    """A role template rendered with its defaults and 02's variables (StrictUndefined)."""
    defaults = yaml.safe_load((ANSIBLE_DIR / "roles" / role / "defaults" / "main.yml").read_text())
    values = {**defaults, "mlflow_admin_user": "admin", **overrides}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string((ANSIBLE_DIR / "roles" / role / "templates" / template).read_text()).render(**values)


def platform_compose_text(params: Any) -> str:
    ev = configure.extravars(params, "compose")
    return render("platform", "docker-compose.yml.j2", platform_public_services=ev["platform_public_services"],
                  **{k: ev[k] for k in ("postgres_port", "prometheus_port", "grafana_port")})


def platform_compose(params: Any) -> dict[str, Any]:
    return yaml.safe_load(platform_compose_text(params))


def test_private_services_bind_to_loopback_by_default(params) -> None:
    services = platform_compose(params)["services"]
    assert services["mlflow"]["ports"] == ["127.0.0.1:5000:5000"]
    assert services["minio"]["ports"] == ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"]
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]  # for the tunnel, never public
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]


def test_opened_service_is_published(params_factory) -> None:
    services = platform_compose(params_factory("infra.public_services=[ssh,api,mlflow]"))["services"]
    assert services["mlflow"]["ports"] == ["5000:5000"]
    assert services["minio"]["ports"] == ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]
    both = platform_compose(params_factory("infra.public_services=[ssh,api,prometheus,grafana]"))["services"]
    assert both["prometheus"]["ports"] == ["9090:9090"] and both["grafana"]["ports"] == ["3000:3000"]
    assert both["mlflow"]["ports"] == ["127.0.0.1:5000:5000"]


def test_mlflow_runs_basic_auth_with_secrets_from_env_file(params) -> None:
    mlflow = platform_compose(params)["services"]["mlflow"]
    assert mlflow["command"].startswith("mlflow server --app-name basic-auth ")
    env = mlflow["environment"]
    assert env["MLFLOW_AUTH_CONFIG_PATH"] == "/auth/basic_auth.ini"
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"] == "${MLFLOW_AUTH_ADMIN_PASSWORD}"  # from .env (0600)
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "${MLFLOW_FLASK_SERVER_SECRET_KEY}"
    assert "/opt/minutes-platform/mlflow-auth.ini:/auth/basic_auth.ini:ro" in mlflow["volumes"]
    assert "Flask-WTF" in mlflow["build"]["dockerfile_inline"]  # basic-auth needs it
    secrets_task = (PLATFORM / "tasks" / "compose.yml").read_text()
    for key in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert f"{key}: \"{{{{ lookup(" in secrets_task  # set from the environment or generated once
    ini = render("platform", "mlflow-auth.ini.j2")
    assert "admin_username = admin" in ini
    assert not [line for line in ini.splitlines() if line.startswith("admin_password")]  # env only


def test_ray_dashboard_on_loopback_unless_opened() -> None:
    closed = yaml.safe_load(render("ray_head", "docker-compose.yml.j2", platform_public_services=["ssh", "api"]))
    assert "--dashboard-host 127.0.0.1 --dashboard-port 8265" in closed["services"]["ray-head"]["command"]
    opened = yaml.safe_load(render("ray_head", "docker-compose.yml.j2",
                                   platform_public_services=["ssh", "api", "ray_dashboard"]))
    assert "--dashboard-host 0.0.0.0" in opened["services"]["ray-head"]["command"]


def _ray_head(**overrides: Any) -> tuple[str, str]:
    """The Ray head's `ray start` command and its nftables rules, as the role renders them."""
    values = {"platform_public_services": ["ssh", "api"], **overrides}
    compose = yaml.safe_load(render("ray_head", "docker-compose.yml.j2", **values))
    return compose["services"]["ray-head"]["command"], render("ray_head", "ray-firewall.nft.j2", **values)


def _dropped_ports(rules: str) -> set[int]:
    """Every TCP port the firewall drops (ranges expanded)."""
    (drop,) = [line for line in rules.splitlines() if line.strip().startswith("tcp dport")]
    ports: set[int] = set()
    for item in drop[drop.index("{") + 1:drop.index("}")].split(","):
        low, _, high = item.strip().partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def test_ray_advertises_loopback_and_every_port_it_opens_is_firewalled() -> None:
    command, rules = _ray_head()
    argv = command.split()
    assert argv[argv.index("--node-ip-address") + 1] == "127.0.0.1"
    assert argv[argv.index("--dashboard-host") + 1] == "127.0.0.1"
    ports = {int(argv[i + 1]) for i, a in enumerate(argv) if a.endswith("-port") and a != "--max-worker-port"}
    low, high = int(argv[argv.index("--min-worker-port") + 1]), int(argv[argv.index("--max-worker-port") + 1])
    assert {6379, 10001, 8265} <= ports and high > low
    dropped = _dropped_ports(rules)
    # the ports named on the command line, the worker range and the autoscaler's metrics port
    assert ports | set(range(low, high + 1)) | {44217} <= dropped
    assert 22 not in dropped
    assert 'iif "lo" accept' in rules and "saddr" not in rules  # only loopback by default
    assert rules.index('iif "lo" accept') < rules.index("tcp dport")


def test_ray_trusted_sources_and_opened_dashboard() -> None:
    command, rules = _ray_head(ray_trusted_cidrs=["10.52.0.0/16", "2001:db8::/32"],
                               platform_public_services=["ssh", "api", "ray_dashboard"])
    assert "ip saddr 10.52.0.0/16 accept" in rules and "ip6 saddr 2001:db8::/32 accept" in rules
    assert rules.index("saddr 10.52.0.0/16") < rules.index("tcp dport")
    assert "--dashboard-host 0.0.0.0" in command and 8265 not in _dropped_ports(rules)
    assert {6379, 10001} <= _dropped_ports(rules)


@pytest.mark.parametrize("overrides", [{}, {"ray_trusted_cidrs": ["10.52.0.0/16", "2001:db8::/32"],
                                        "platform_public_services": ["ssh", "api", "ray_dashboard"]}])
def test_ray_firewall_is_valid_nftables(overrides: dict[str, Any], tmp_path: Path) -> None:
    """nft's own parser checks the rendered rules (`nft -c`: parsed and checked, nothing loaded);
    a rule it would refuse fails here instead of at boot on the GPU node."""
    nft = shutil.which("nft") or ("/usr/sbin/nft" if Path("/usr/sbin/nft").is_file() else None)
    if nft is None:
        pytest.skip("nft is not installed (make setup installs nftables)")
    rules = tmp_path / "ray-firewall.nft"
    rules.write_text(_ray_head(**overrides)[1])
    done = subprocess.run([nft, "-c", "-f", str(rules)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rules.write_text(rules.read_text().replace("} drop", "} dorp"))
    assert subprocess.run([nft, "-c", "-f", str(rules)], capture_output=True).returncode != 0


def test_ray_firewall_survives_reboots() -> None:
    unit = render("ray_head", "ray-firewall.service.j2")
    assert "ExecStart=/usr/sbin/nft -f /etc/minutes/ray-firewall.nft" in unit
    assert "Before=docker.service" in unit and "WantedBy=multi-user.target" in unit


def test_tunnel_commands(params_factory) -> None:
    p = params_factory("infra.mode=apply", "infra.ssh_key_file=/keys/id ed")
    assert tunnels.ssh_tunnel_commands(p) == [
        "ssh -N -L 3000:127.0.0.1:3000 -L 5000:127.0.0.1:5000 -L 5432:127.0.0.1:5432 -L 8850:127.0.0.1:8850 "
        "-L 9001:127.0.0.1:9001 -L 9090:127.0.0.1:9090 -i '/keys/id ed' "
        "cc@<floating ip of minutes-kvm-alice>",
        "ssh -N -L 10001:127.0.0.1:10001 -L 8265:127.0.0.1:8265 -i '/keys/id ed' cc@<floating ip of minutes-gpu-alice>"]
    state.save_state(p, "kvm", {"floating_ip": "129.114.0.10"})
    state.save_state(p, "gpu", {"floating_ip": "192.5.87.20"})
    opened = params_factory("infra.mode=apply", "infra.public_services=[ssh,api,mlflow,ray_dashboard]")
    assert tunnels.ssh_tunnel_commands(opened) == [
        "ssh -N -L 3000:127.0.0.1:3000 -L 5432:127.0.0.1:5432 -L 8850:127.0.0.1:8850 -L 9001:127.0.0.1:9001 "
        "-L 9090:127.0.0.1:9090 cc@129.114.0.10",
        "ssh -N -L 10001:127.0.0.1:10001 cc@192.5.87.20"]  # Ray's client port is never public
    hint = tunnels.mlflow_login_hint(p)
    assert "MLFLOW_TRACKING_PASSWORD" in hint and "mlflow_admin_password" in hint
    url = tunnels.answer_log_url_hint(p)
    assert url.startswith('export MINUTES_ANSWER_LOG_URL="${MINUTES_ANSWER_LOG_URL:-postgresql://minutes:$(cat ')
    assert "minutes_db_password" in url and url.endswith('@127.0.0.1:5432/minutes}"')


def service_compose(params: Any) -> dict[str, Any]:
    from minutes.serve import deploy

    ev = deploy.extravars(params, [], "compose")
    return yaml.safe_load(render("service", "docker-compose.yml.j2", **ev))


def test_canary_router_container_is_private_by_default(params_factory) -> None:
    services = service_compose(params_factory("infra.mode=apply"))["services"]
    r = services["router"]
    assert r["ports"] == ["127.0.0.1:8850:8850"]  # through the SSH tunnel
    assert r["environment"] == {"MINUTES_ROUTER_TOKEN": "${MINUTES_ROUTER_TOKEN:-}"}  # the value from .env only
    argv = r["entrypoint"]
    assert argv[:3] == ["python", "-m", "minutes.online.router"]
    assert "serve.canary.production_upstream=http://api-production:8800" in argv
    assert "serve.canary.candidate_upstream=http://api-staging:8800" in argv
    assert set(r["depends_on"]) == {"api-production", "api-staging"} <= set(services)
    opened = service_compose(params_factory("infra.mode=apply", "infra.public_services=[ssh,api,router]"))
    assert opened["services"]["router"]["ports"] == ["8850:8850"]
    # no deployment follows the candidate alias: no router (start_canary says why)
    pinned = service_compose(params_factory("infra.mode=apply", "serve.canary.candidate_alias=7"))
    assert "router" not in pinned["services"]


def test_postgres_is_never_opened(params_factory) -> None:
    with pytest.raises(ValueError, match="cannot open postgres"):
        params_factory("infra.public_services=[ssh,api,postgres]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(importlib.util.find_spec("flask_wtf") is None,
                    reason="MLflow's basic-auth app needs Flask-WTF (add 'Flask-WTF>=1.2,<2', i.e. mlflow[auth])")
def test_real_mlflow_basic_auth_refuses_anonymous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ini our template renders, on a real `mlflow server --app-name basic-auth` (sqlite)."""
    ini = render("platform", "mlflow-auth.ini.j2").replace(
        "sqlite:////auth/db/basic_auth.db", f"sqlite:///{tmp_path / 'auth.db'}")
    (tmp_path / "auth.ini").write_text(ini)
    password = secrets.token_urlsafe(16)
    port = _free_port()
    env = {**os.environ, "MLFLOW_AUTH_CONFIG_PATH": str(tmp_path / "auth.ini"),
           "MLFLOW_AUTH_ADMIN_PASSWORD": password, "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}
    env.pop("MLFLOW_TRACKING_USERNAME", None)
    env.pop("MLFLOW_TRACKING_PASSWORD", None)
    mlflow_bin = str(Path(sys.executable).parent / "mlflow")
    proc = subprocess.Popen([mlflow_bin, "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1",
                             "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                             "--default-artifact-root", str(tmp_path / "artifacts")],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not answer /health within 120 s")
        search = f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
        assert httpx.get(search, timeout=10).status_code == 401
        assert httpx.get(search, auth=("admin", "wrong-password"), timeout=10).status_code == 401
        ok = httpx.get(search, auth=("admin", password), timeout=10)
        assert ok.status_code == 200, ok.text
        assert [e["name"] for e in ok.json()["experiments"]] == ["Default"]
        # the service's alias poll (REST, not the MLflow client) signs in the same way
        from minutes.config import load_params
        from minutes.serve.model_watch import RegistryError, registry_version

        p = load_params("ci", [f"mlflow.tracking_uri={base}"])
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
        with pytest.raises(RegistryError, match="401"):
            registry_version(p)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        assert registry_version(p) is None  # signed in; nothing registered
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_canary_reaches_the_router_through_the_tunnel_unless_public(params_factory) -> None:
    from minutes.online import canary
    from minutes.serve import deploy

    p = params_factory("infra.mode=apply")
    state.save_state(p, "kvm", {"floating_ip": "129.114.0.10"})
    assert deploy.router_url(p) == "http://127.0.0.1:8850"
    assert deploy.compose_urls(p) == {"production": "http://129.114.0.10:8800", "staging": "http://129.114.0.10:8810"}
    opened = params_factory("infra.mode=apply", "infra.public_services=[ssh,api,router]")
    assert deploy.router_url(opened) == "http://129.114.0.10:8850"
    local = params_factory()
    assert deploy.router_url(local) == f"http://127.0.0.1:{local.serve.canary.port}"  # the local router
    with pytest.raises(canary.CanaryError, match="no compose deployment follows"):
        canary.start_canary(params_factory("infra.mode=apply", "serve.canary.candidate_alias=7"))


def test_router_token_from_the_environment_else_the_generated_file(params_factory, monkeypatch) -> None:
    from minutes.infra.configure import generated_dir
    from minutes.online import canary

    p = params_factory("infra.mode=apply")
    monkeypatch.delenv("MINUTES_ROUTER_TOKEN", raising=False)
    with pytest.raises(canary.CanaryError, match="MINUTES_ROUTER_TOKEN"):
        canary.router_token(p)
    (generated_dir(p)).mkdir(parents=True, exist_ok=True)
    (generated_dir(p) / "router_token").write_text("made-by-the-playbook\n")
    assert canary.router_token(p) == "made-by-the-playbook"
    monkeypatch.setenv("MINUTES_ROUTER_TOKEN", "from-env")
    assert canary.router_token(p) == "from-env"
    task = (ANSIBLE_DIR / "roles" / "service" / "tasks" / "compose.yml").read_text()
    assert "platform_generated_dir ~ '/router_token" in task  # the file the playbook writes
