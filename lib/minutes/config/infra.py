"""Parameters of Chameleon provisioning (00, 01, 02, 99).

Credentials are never parameters: they come from the environment (see minutes.infra.context).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from minutes.config.base import Section


class KvmParams(Section):
    site: str = "KVM@TACC"
    flavor: str = "m1.xlarge"
    image: str = "CC-Ubuntu24.04"
    network: str = "sharednet1"
    lease_hours: int = Field(24, ge=1, le=24 * 180)
    #: Service name -> TCP port on the node. Only those in `infra.public_services` get a security
    #: group (`minutes-allow-<name>-<suffix>`) open to `infra.allowed_cidr`; the others listen on
    #: the node's loopback and are reached through `minutes.infra.tunnels.ssh_tunnel_commands`.
    ports: dict[str, int] = {"ssh": 22, "mlflow": 5000, "api": 8800, "minio": 9001, "prometheus": 9090,
                            "grafana": 3000, "postgres": 5432, "router": 8850}
    #: Size of the Cinder volume holding the platform's data (Postgres, MinIO); 0: root disk.
    volume_gb: int = Field(50, ge=0)


class GpuParams(Section):
    enabled: bool = True
    site: str = "CHI@UC"
    node_type: str = "gpu_a100_pcie"
    image: str = "CC-Ubuntu24.04-CUDA"
    network: str = "sharednet1"
    lease_hours: int = Field(6, ge=1, le=168)
    #: The Ray head's dashboard (loopback unless `ray_dashboard` is in infra.public_services).
    ray_dashboard_port: int = Field(8265, ge=1, le=65535)
    #: Ray's client server (`ray.address=ray://127.0.0.1:<port>` through the SSH tunnel). Ray
    #: advertises the node's loopback and a firewall drops its ports from other hosts (the node
    #: has no security groups); see ansible/roles/ray_head.
    ray_client_port: int = Field(10001, ge=1, le=65535)
    #: Sources (CIDRs) that may reach Ray's ports besides loopback, e.g. a worker node's address.
    ray_trusted_cidrs: list[str] = []


class TerraformParams(Section):
    #: Source of the configuration (copied into the work dir, where its state lives).
    dir: str = "tf/kvm"
    binary: str = "terraform"
    timeout_s: int = Field(1800, ge=1)


class InfraParams(Section):
    #: plan: render the exact requests and call nothing; apply: talk to Chameleon.
    mode: Literal["plan", "apply"] = "plan"
    #: Who creates the KVM VM (the lease is always made with python-chi: Terraform cannot).
    tool: Literal["python-chi", "terraform"] = "python-chi"
    #: Every resource name carries this suffix; empty: the user name ($USER).
    suffix: str = ""
    #: Project (allocation) name, e.g. CHI-231234; not needed with an application credential.
    project: str | None = None
    #: Nova key pair injected into the servers; empty: "<suffix>-jupyter" (the hub's default).
    key_name: str = ""
    #: Private key used by Ansible (path); empty: ssh-agent / ~/.ssh defaults.
    ssh_key_file: str = ""
    ssh_user: str = "cc"
    #: Source range allowed to reach the public service ports.
    allowed_cidr: str = "0.0.0.0/0"
    #: Services reachable from `allowed_cidr` (names of `kvm.ports`, or ray_dashboard on the
    #: GPU node, which has no security groups: there it only changes the listen address). Closed by default: only SSH
    #: (Ansible, the tunnels) and the API; MLflow, the MinIO console, Prometheus and the Ray
    #: dashboard stay private. MLflow asks for a password (basic-auth) even when opened.
    public_services: list[str] = ["ssh", "api"]
    lease_timeout_s: int = Field(900, ge=1)
    server_timeout_s: int = Field(1800, ge=1)
    ssh_timeout_s: int = Field(600, ge=1)
    poll_s: float = Field(10.0, gt=0)
    #: Teardown also deletes the platform's data volume (kept by default: it is the data).
    delete_volume: bool = False
    kvm: KvmParams = KvmParams()
    gpu: GpuParams = GpuParams()
    terraform: TerraformParams = TerraformParams()

    @model_validator(mode="after")
    def _public_services_known(self) -> "InfraParams":
        known = {*self.kvm.ports, "ray_dashboard"}
        unknown = sorted(set(self.public_services) - known)
        if unknown:
            raise ValueError(f"infra.public_services names {unknown}; known services: {sorted(known)}")
        if "postgres" in self.public_services:
            raise ValueError("infra.public_services cannot open postgres: the database stays on the node's "
                             "loopback (reach it through the SSH tunnel)")
        if "ssh" not in self.public_services:
            raise ValueError("infra.public_services must keep 'ssh': Ansible and the SSH tunnels need it")
        return self

    def public_ports(self) -> dict[str, int]:
        """Service -> port of the services open to `allowed_cidr` (one security group each)."""
        return {s: p for s, p in self.kvm.ports.items() if s in self.public_services}
