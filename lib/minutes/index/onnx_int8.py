"""An int8 CPU embedder: the sentence-transformers model exported to ONNX (onnx_export) and
dynamically quantized with onnxruntime (per-channel int8 MatMuls)."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from minutes.index.model_identity import model_source
from minutes.index.onnx_export import FP32_FILE, META_FILE, PooledEncoder, cache_key, export_onnx
from minutes.io import atomic_path

log = logging.getLogger(__name__)
MODEL_FILE = "model_int8.onnx"


def export_int8(name: str, out_dir: Path, max_seq_length: int | None = None) -> Path:
    """Export `name` to ONNX (fp32), quantize its MatMuls to int8 per channel; returns the folder."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_path(out_dir) as tmp:
        export_onnx(name, tmp, "onnx-int8", max_seq_length)
        # Per-channel int8 on MatMul only: per-tensor weights cost MiniLM ~5 points of cosine.
        quantize_dynamic(str(tmp / FP32_FILE), str(tmp / MODEL_FILE), weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=["MatMul"])
        (tmp / FP32_FILE).unlink()
    return out_dir


class OnnxInt8Embedder(PooledEncoder):
    """The int8 graph on onnxruntime's CPU provider."""

    backend = "onnx-int8"

    def __init__(self, folder: Path, name: str, threads: int = 0) -> None:
        import onnxruntime as ort

        self._load_meta(folder, name)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            # A server encodes one question per request on many request threads: a fixed, small
            # pool that sleeps when idle, instead of one spinning thread per core per session.
            opts.intra_op_num_threads = threads
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), opts, providers=["CPUExecutionProvider"])

    def _run(self, feeds: dict[str, Any]) -> Any:
        return self.session.run(None, feeds)[0]

    @classmethod
    def from_model(cls, name: str, cache_dir: Path, max_seq_length: int | None = None,
                   threads: int = 0) -> "OnnxInt8Embedder":
        source = model_source(name)
        folder = Path(cache_dir) / cache_key(source, max_seq_length)
        if not (folder / META_FILE).is_file():
            log.info("exporting %s to int8 ONNX in %s", source, folder)
            export_int8(name, folder, max_seq_length)
        return cls(folder, name, threads)

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.folder), **json.loads((self.folder / META_FILE).read_text())}
