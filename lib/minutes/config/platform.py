"""Parameters of the shared engines: MLflow tracking server and Ray."""
from __future__ import annotations

from pydantic import Field

from minutes.config.base import Section


class MlflowParams(Section):
    #: Empty: start (or reuse) a local server on loopback with sqlite under the work dir.
    tracking_uri: str = ""
    host: str = "127.0.0.1"
    port: int = Field(5055, ge=1, le=65535)
    experiment: str = "minutes"


class RayParams(Section):
    #: Empty: a local Ray on this machine; else "ray://host:10001" or "auto".
    address: str = ""
    num_cpus: int | None = Field(None, ge=1)
