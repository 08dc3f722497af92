"""Which embedding model made a set of vectors: its resolved source and a fingerprint of its
weights. The torch and int8 embedders share it, so their vectors are recognised as one space."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from minutes import models


@dataclass(frozen=True)
class ModelInfo:
    """Identity of an embedding model: vectors are comparable only between equal `key`s."""

    name: str  # the parameter value ("packaged", a hub name or a path)
    source: str  # what the loader was given (resolved path or hub name)
    dim: int
    max_seq_length: int
    fingerprint: str  # hash of the config and a sample of the weights
    backend: str

    @property
    def key(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "dim": self.dim, "max_seq_length": self.max_seq_length}

    def as_dict(self) -> dict[str, Any]:
        return {"embedding_model": self.name, "embedding_source": self.source, "dim": self.dim,
                "max_seq_length": self.max_seq_length, "model_fingerprint": self.fingerprint,
                "backend": self.backend}


def model_source(name: str) -> str:
    """The path or hub name a loader is given for the `index.embedding_model` value `name`."""
    return models.resolve(name, models.packaged_embedding_path() if name == "packaged" else None)


def fingerprint(st_model: Any) -> str:
    """Config plus the first and last weight tensors: cheap, and differs between checkpoints."""
    import torch

    h = hashlib.sha256()
    auto = st_model[0].auto_model
    h.update(auto.config.to_json_string(use_diff=False).encode())
    params = [p for p in auto.parameters()]
    for p in (params[0], params[-1]):
        h.update(p.detach().to(torch.float32).cpu().numpy().tobytes()[: 1 << 16])
    return h.hexdigest()[:16]
