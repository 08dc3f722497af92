"""Sentence embeddings: normalized float32 vectors from sentence-transformers (torch), an int8
ONNX export of the same model (onnx_int8.py) or that export on OpenVINO (openvino_embed.py). Both expose `encode(texts) -> (n, dim)` and
`info` (what the index manifest records, so vectors from another model are refused;
see model_identity.py)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from minutes.index.hash_embed import HashEmbedder, hash_dim
from minutes.index.model_identity import ModelInfo, fingerprint, model_source
from minutes.index.onnx_int8 import OnnxInt8Embedder

if TYPE_CHECKING:
    import numpy as np

    from minutes.config import Params
    from minutes.config.index import IndexParams

log = logging.getLogger(__name__)


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
    bounds onnxruntime's pool (0: its default; torch threads are set process-wide instead).
    `hash-<dim>` is the deterministic stand-in of the scale benchmark (minutes.index.hash_embed),
    whatever the backend."""
    dim = hash_dim(index.embedding_model)
    if dim is not None:
        return HashEmbedder(dim, index.max_seq_length or 512)
    if index.backend in ("onnx-int8", "openvino", "auto") and cache_dir is None:
        raise ValueError(f"the {index.backend} backend needs a cache_dir for its exported model")
    if index.backend == "auto":
        from minutes.index.backend_choice import choose

        index = index.model_copy(update={"backend": choose(index, cache_dir, load_embedder, threads)["backend"]})
    if index.backend == "onnx-int8":
        return OnnxInt8Embedder.from_model(index.embedding_model, cache_dir, index.max_seq_length, threads)
    if index.backend == "openvino":
        from minutes.index.openvino_embed import OpenVinoEmbedder

        return OpenVinoEmbedder.from_model(index.embedding_model, cache_dir, index.max_seq_length, threads,
                                           index.openvino_precision)
    return TorchEmbedder(index.embedding_model, index.device, index.max_seq_length)


def export_cache(params: "Params") -> Path:
    """Where the profile keeps model exports (and the `auto` backend's verdict)."""
    return params.work_dir / "cache" / "onnx"


def embedder_for(params: "Params", backend: str | None = None, threads: int = 0) -> Embedder:
    """load_embedder with the profile's cache folder (optionally overriding the backend)."""
    index = params.index if backend is None else params.index.model_copy(update={"backend": backend})
    return load_embedder(index, export_cache(params), threads)
