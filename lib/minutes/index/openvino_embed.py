"""The embedder on OpenVINO: the exported ONNX graph (onnx_export) converted to OpenVINO's IR
once, compiled for the CPU.

On a CPU with AMX or AVX512-BF16 OpenVINO runs the fp32 graph in bfloat16 by default
(`index.openvino_precision: auto`; cosine 0.99998 to torch's vectors), elsewhere in fp32. How
much faster than torch that is depends on the machine (3.8x on a 2-core AMX Xeon, 1.1-1.2x on a
2-core AVX2 EPYC, slower on some AVX2 CPUs), so `index.backend: auto` measures it there
(backend_choice.py). `f32` forces full precision; `bf16` asks for bfloat16 even where the CPU
emulates it.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from minutes.index.model_identity import model_source
from minutes.index.onnx_export import FP32_FILE, META_FILE, PooledEncoder, cache_key, export_onnx
from minutes.io import atomic_path, write_json

log = logging.getLogger(__name__)
IR_FILE = "model.xml"


def _ov_version() -> str:
    import openvino

    return str(openvino.__version__)


def export_ir(name: str, out_dir: Path, max_seq_length: int | None = None) -> Path:
    """ONNX export, then OpenVINO IR (weights kept fp32: the precision is chosen at compile)."""
    import openvino as ov

    with atomic_path(out_dir) as tmp:
        meta = export_onnx(name, tmp, "openvino", max_seq_length)
        ov.save_model(ov.convert_model(str(tmp / FP32_FILE)), str(tmp / IR_FILE), compress_to_fp16=False)
        (tmp / FP32_FILE).unlink()
        write_json(tmp / META_FILE, {**meta, "openvino": _ov_version()})
    return out_dir


class OpenVinoEmbedder(PooledEncoder):
    """One compiled model; one infer request per calling thread (a request is not re-entrant,
    and the service embeds questions on many request threads)."""

    backend = "openvino"

    def __init__(self, folder: Path, name: str, threads: int = 0, precision: str = "auto") -> None:
        import openvino as ov

        self._load_meta(folder, name)
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if precision != "auto":
            config["INFERENCE_PRECISION_HINT"] = precision  # "bf16" or "f32": OpenVINO's own names
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = ov.Core().compile_model(str(folder / IR_FILE), "CPU", config)
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self._local = threading.local()

    def _run(self, feeds: dict[str, Any]) -> Any:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        return request.infer(feeds)[0].copy()  # the request's buffer is reused by its next call

    @classmethod
    def from_model(cls, name: str, cache_dir: Path, max_seq_length: int | None = None,
                   threads: int = 0, precision: str = "auto") -> "OpenVinoEmbedder":
        source = model_source(name)
        folder = Path(cache_dir) / cache_key(source, max_seq_length, "openvino", _ov_version())
        if not (folder / META_FILE).is_file():
            log.info("exporting %s to OpenVINO IR in %s", source, folder)
            export_ir(name, folder, max_seq_length)
        return cls(folder, name, threads, precision)

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "precision": self.precision,
                **json.loads((self.folder / META_FILE).read_text())}
