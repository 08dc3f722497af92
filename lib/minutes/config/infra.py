"""Parameters of Chameleon provisioning (00, 01, 02, 99).

Credentials are never parameters: they come from the environment (see minutes.infra.context).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class KvmParams(Section):
    site: str = "KVM@TACC"
    flavor: str = "m1.xlarge"
    image: str = "CC-Ubuntu24.04"
    network: str = "sharednet1"
    lease_hours: int = Field(24, ge=1, le=24 * 180)
    #: Service name -> TCP port opened by its own security group (`minutes-<name>-<suffix>`).
    ports: dict[str, int] = {"ssh": 22, "mlflow": 5000, "api": 8800, "minio": 9001, "prometheus": 9090}
    #: Size of the Cinder volume holding the platform's data (Postgres, MinIO); 0: root disk.
    volume_gb: int = Field(50, ge=0)


class GpuParams(Section):
    enabled: bool = True
    site: str = "CHI@UC"
    node_type: str = "gpu_a100_pcie"
    image: str = "CC-Ubuntu24.04-CUDA"
    network: str = "sharednet1"
    lease_hours: int = Field(6, ge=1, le=168)


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
    #: Source range allowed to reach the service ports.
    allowed_cidr: str = "0.0.0.0/0"
    lease_timeout_s: int = Field(900, ge=1)
    server_timeout_s: int = Field(1800, ge=1)
    ssh_timeout_s: int = Field(600, ge=1)
    poll_s: float = Field(10.0, gt=0)
    #: Teardown also deletes the platform's data volume (kept by default: it is the data).
    delete_volume: bool = False
    kvm: KvmParams = KvmParams()
    gpu: GpuParams = GpuParams()
    terraform: TerraformParams = TerraformParams()
