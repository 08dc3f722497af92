"""Resource names. Names are project-wide on Chameleon, so every one carries the user's suffix."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

PREFIX = "minutes"


def suffix(params: Any) -> str:
    """The params' suffix, or the user name; lower-case letters, digits and dashes only."""
    raw = params.infra.suffix or os.environ.get("USER") or os.environ.get("JUPYTERHUB_USER") or "user"
    clean = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    if not clean:
        raise ValueError(f"infra.suffix {raw!r} has no letters or digits to name resources with")
    return clean[:32]


def key_name(params: Any) -> str:
    """The Nova key pair: the param, or the JupyterHub's default "<user>-jupyter"."""
    return params.infra.key_name or f"{suffix(params)}-jupyter"


@dataclass(frozen=True)
class Names:
    """Every name this project gives a Chameleon resource, for one suffix."""

    suffix: str

    def _n(self, what: str) -> str:
        return f"{PREFIX}-{what}-{self.suffix}"

    @property
    def kvm_lease(self) -> str:
        return self._n("kvm-lease")

    @property
    def kvm_server(self) -> str:
        return self._n("kvm")

    @property
    def kvm_fip(self) -> str:
        """Floating IPs carry their owner's name in `description`, so reruns find their own."""
        return self._n("kvm-fip")

    @property
    def kvm_volume(self) -> str:
        return self._n("kvm-data")

    @property
    def gpu_lease(self) -> str:
        return self._n("gpu-lease")

    @property
    def gpu_server(self) -> str:
        return self._n("gpu")

    @property
    def gpu_fip(self) -> str:
        return self._n("gpu-fip")

    def security_group(self, service: str) -> str:
        return self._n(f"allow-{service}")


def names_for(params: Any) -> Names:
    return Names(suffix(params))
