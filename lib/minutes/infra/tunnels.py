"""SSH tunnels to the services that stay private on the Chameleon nodes (closed by default).

Only `infra.public_services` get a security group; MLflow, the MinIO console, Prometheus,
Grafana and the canary router (and Postgres, never public) on the KVM node, and Ray (client server, dashboard) on the GPU node, listen on the node's
loopback (Ray's other ports are closed by a firewall on the node, which has no security groups). Notebook 02
prints these commands; with the tunnel up, http://127.0.0.1:<port> on the controller reaches them
(the chameleon profile's `mlflow.tracking_uri` is http://127.0.0.1:5000 for this reason).
"""
from __future__ import annotations

import shlex
from typing import Any

from minutes.infra import state
from minutes.infra.names import names_for

#: KVM services a tunnel can reach (ssh and the API are never tunnelled).
KVM_TUNNELLED = ("mlflow", "minio", "prometheus", "grafana", "postgres", "router")


def private_kvm_ports(params: Any) -> dict[str, int]:
    """KVM service -> port of the services that are not public."""
    ports = params.infra.kvm.ports
    return {s: ports[s] for s in KVM_TUNNELLED if s in ports and s not in params.infra.public_services}


def _ssh(params: Any, host: str, ports: list[int]) -> str:
    argv = ["ssh", "-N"]
    for port in ports:
        argv += ["-L", f"{port}:127.0.0.1:{port}"]
    if params.infra.ssh_key_file:
        argv += ["-i", params.infra.ssh_key_file]
    return " ".join(shlex.quote(a) for a in argv) + f" {params.infra.ssh_user}@{host}"


def _address(params: Any, node: str, server: str) -> str:
    found = state.load_state(params, node)
    return str(found["floating_ip"]) if found and found.get("floating_ip") else f"<floating ip of {server}>"


def ssh_tunnel_commands(params: Any) -> list[str]:
    """One `ssh -N -L ...` per node with private services (placeholders before provisioning)."""
    names = names_for(params)
    commands = []
    kvm_ports = sorted(private_kvm_ports(params).values())
    if kvm_ports:
        commands.append(_ssh(params, _address(params, "kvm", names.kvm_server), kvm_ports))
    if params.infra.gpu.enabled:
        gpu = params.infra.gpu
        ray_ports = [gpu.ray_client_port]
        if "ray_dashboard" not in params.infra.public_services:
            ray_ports.append(gpu.ray_dashboard_port)
        commands.append(_ssh(params, _address(params, "gpu", names.gpu_server), ray_ports))
    return commands


def mlflow_login_hint(params: Any) -> str:
    """How to put MLflow's basic-auth login into the environment (a path, never the password)."""
    from minutes.infra.configure import generated_dir

    secret = generated_dir(params) / "mlflow_admin_password"
    return ('export MLFLOW_TRACKING_USERNAME="${MLFLOW_TRACKING_USERNAME:-admin}" '
            f'MLFLOW_TRACKING_PASSWORD="${{MLFLOW_TRACKING_PASSWORD:-$(cat {shlex.quote(str(secret))})}}"')


def answer_log_url_hint(params: Any) -> str:
    """How to put the answer log's URL (the platform's `minutes` database, through the tunnel)
    into the environment for the controller's notebooks (a path, never the password)."""
    from minutes.infra.configure import generated_dir

    var = params.serve.answer_log.url_env
    secret = generated_dir(params) / "minutes_db_password"
    port = params.infra.kvm.ports.get("postgres", 5432)
    return (f'export {var}="${{{var}:-postgresql://minutes:$(cat {shlex.quote(str(secret))})'
            f'@127.0.0.1:{port}/minutes}}"')
