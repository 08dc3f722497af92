"""Parameters of Chameleon provisioning (00, 01, 02, 99)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class KvmParams(Section):
    site: str = "KVM@TACC"
    flavor: str = "m1.xlarge"
    image: str = "CC-Ubuntu24.04"
    network: str = "sharednet1"
    lease_hours: int = Field(24, ge=1)
    ports: dict[str, int] = {"ssh": 22, "mlflow": 5000, "api": 8800, "minio": 9001, "prometheus": 9090}


class GpuParams(Section):
    enabled: bool = True
    site: str = "CHI@UC"
    node_type: str = "gpu_a100_pcie"
    image: str = "CC-Ubuntu24.04-CUDA"
    lease_hours: int = Field(6, ge=1, le=168)


class InfraParams(Section):
    #: plan: render the exact requests and call nothing; apply: talk to Chameleon.
    mode: Literal["plan", "apply"] = "plan"
    tool: Literal["python-chi", "terraform"] = "python-chi"
    #: Every resource name carries this suffix; "${USER}" style references are expanded.
    suffix: str = "${USER:-minutes}"
    project: str | None = None
    key_name: str = "${USER:-minutes}-jupyter"
    lease_timeout_s: int = Field(900, ge=1)
    server_timeout_s: int = Field(1800, ge=1)
    ssh_timeout_s: int = Field(600, ge=1)
    kvm: KvmParams = KvmParams()
    gpu: GpuParams = GpuParams()
