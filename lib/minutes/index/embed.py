"""Sentence embeddings: normalized float32 vectors from sentence-transformers (torch) or an int8
ONNX export of the same model (see onnx_int8.py). Both expose `encode(texts) -> (n, dim)` and
`info` (what the index manifest records, so vectors from another model are refused)."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from minutes import models

if TYPE_CHECKING:
    import numpy as np

    from minutes.config import Params
    from minutes.config.index import IndexParams

log = logging.getLogger(__name__)


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


class Embedder(Protocol):
    info: ModelInfo

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> "np.ndarray": ...


def resolve_device(device: str) -> str:
    """"auto" picks CUDA when present; asking for CUDA without one is an error, not a silent CPU run."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("index.device is 'cuda' but torch sees no GPU here; use 'cpu' or 'auto'")
    return device


def model_source(name: str) -> str:
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


class TorchEmbedder:
    """sentence-transformers on CPU or GPU."""

    def __init__(self, name: str, device: str = "cpu", max_seq_length: int | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.source = model_source(name)
        self.device = resolve_device(device)
        self.model = SentenceTransformer(self.source, device=self.device)
        if max_seq_length:
            limit = self.model[0].auto_model.config.max_position_embeddings
            if max_seq_length > limit:
                raise ValueError(f"index.max_seq_length={max_seq_length} exceeds the model's "
                                 f"{limit} positions ({self.source})")
            self.model.max_seq_length = max_seq_length
        self.info = ModelInfo(name=name, source=self.source,
                              dim=int(self.model.get_embedding_dimension()),
                              max_seq_length=int(self.model.max_seq_length),
                              fingerprint=fingerprint(self.model), backend="torch")

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> "np.ndarray":
        import numpy as np

        if not len(texts):
            return np.zeros((0, self.info.dim), dtype=np.float32)
        vecs = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vecs, dtype=np.float32)


def load_embedder(index: "IndexParams", cache_dir: Path | None = None, threads: int = 0) -> Embedder:
    """The embedder the params ask for. `cache_dir` keeps ONNX exports between runs; `threads`
    bounds onnxruntime's pool (0: its default; torch threads are set process-wide instead)."""
    if index.backend == "onnx-int8":
        from minutes.index.onnx_int8 import OnnxInt8Embedder

        if cache_dir is None:
            raise ValueError("the onnx-int8 backend needs a cache_dir for its exported model")
        return OnnxInt8Embedder.from_model(index.embedding_model, cache_dir, index.max_seq_length, threads)
    return TorchEmbedder(index.embedding_model, index.device, index.max_seq_length)


def embedder_for(params: "Params", backend: str | None = None, threads: int = 0) -> Embedder:
    """load_embedder with the profile's cache folder (optionally overriding the backend)."""
    index = params.index if backend is None else params.index.model_copy(update={"backend": backend})
    return load_embedder(index, params.work_dir / "cache" / "onnx", threads)
