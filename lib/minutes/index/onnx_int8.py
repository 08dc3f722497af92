"""An int8 CPU embedder: the sentence-transformers model exported to ONNX and dynamically
quantized with onnxruntime.

sentence-transformers' own ONNX backend needs optimum-onnx, which pins transformers < 4.58 and
so cannot live beside transformers 5; this module does the same two steps with torch.onnx and
onnxruntime.quantization directly. Only mean-pooling models are supported (MiniLM, mpnet).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from minutes.index.model_identity import ModelInfo, fingerprint, model_source
from minutes.io import atomic_path, read_json, write_json

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
MODEL_FILE = "model_int8.onnx"
META_FILE = "meta.json"


def _cache_key(source: str, max_seq_length: int | None) -> str:
    h = hashlib.sha256(f"{source}|{max_seq_length}".encode())
    src = Path(source)
    if src.is_dir():  # a model replaced in place gets a new export
        for f in sorted(src.rglob("*")):
            if f.is_file() and f.suffix in (".json", ".safetensors", ".bin", ".txt"):
                st = f.stat()
                h.update(f"{f.relative_to(src)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _check_mean_pooling(st_model: Any) -> None:
    from sentence_transformers.models import Pooling

    pools = [m for m in st_model if isinstance(m, Pooling)]
    # sentence-transformers 6 has `pooling_mode`; older releases `get_pooling_mode_str()`.
    mode = None
    if pools:
        mode = getattr(pools[0], "pooling_mode", None) or pools[0].get_pooling_mode_str()
    if mode not in ("mean", ["mean"], ("mean",)):
        raise ValueError("the onnx-int8 backend supports mean-pooling sentence-transformers models only")


def export_int8(name: str, out_dir: Path, max_seq_length: int | None = None) -> Path:
    """Export `name` to ONNX (fp32), quantize its MatMuls to int8 per channel; returns the folder."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    source = model_source(name)
    st = SentenceTransformer(source, device="cpu")
    _check_mean_pooling(st)
    if max_seq_length:
        st.max_seq_length = max_seq_length
    auto = st[0].auto_model.eval()
    tokenizer = st.tokenizer
    enc = tokenizer(["an example sentence", "a second, longer example sentence"], padding=True,
                    return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.auto = auto

        def forward(self, *inputs: "torch.Tensor") -> "torch.Tensor":
            return self.auto(**dict(zip(names, inputs))).last_hidden_state

    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        fp32 = tmp / "model_fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(Encoder(), tuple(enc[n] for n in names), str(fp32), dynamo=False,
                              input_names=names, output_names=["last_hidden_state"], opset_version=17,
                              dynamic_axes={n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]})
        # Per-channel int8 on MatMul only: per-tensor weights cost MiniLM ~5 points of cosine.
        quantize_dynamic(str(fp32), str(tmp / MODEL_FILE), weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=["MatMul"])
        fp32.unlink()
        tokenizer.save_pretrained(str(tmp / "tokenizer"))
        write_json(tmp / META_FILE, {"name": name, "source": source, "inputs": names,
                                     "dim": int(st.get_embedding_dimension()),
                                     "max_seq_length": int(st.max_seq_length),
                                     "fingerprint": fingerprint(st)})
    return out_dir


class OnnxInt8Embedder:
    """Mean pooling + L2 normalization over onnxruntime outputs, batches sorted by length."""

    def __init__(self, folder: Path, name: str, threads: int = 0) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        meta = read_json(folder / META_FILE)
        self.folder = folder
        self.inputs: list[str] = meta["inputs"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
        self.max_seq_length = int(meta["max_seq_length"])
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            # A server encodes one question per request on many request threads: a fixed, small
            # pool that sleeps when idle, instead of one spinning thread per core per session.
            opts.intra_op_num_threads = threads
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), opts, providers=["CPUExecutionProvider"])
        # Same model identity as the torch embedder: int8 vectors live in the same space.
        self.info = ModelInfo(name=name, source=meta["source"], dim=int(meta["dim"]),
                              max_seq_length=self.max_seq_length, fingerprint=meta["fingerprint"],
                              backend="onnx-int8")

    @classmethod
    def from_model(cls, name: str, cache_dir: Path, max_seq_length: int | None = None,
                   threads: int = 0) -> "OnnxInt8Embedder":
        source = model_source(name)
        folder = Path(cache_dir) / _cache_key(source, max_seq_length)
        if not (folder / META_FILE).is_file():
            log.info("exporting %s to int8 ONNX in %s", source, folder)
            export_int8(name, folder, max_seq_length)
        return cls(folder, name, threads)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> "np.ndarray":
        import numpy as np
        from tqdm.auto import tqdm

        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        starts = range(0, len(texts), batch_size)
        for s in tqdm(starts, desc="embed (onnx-int8)", disable=not progress):
            idx = order[s: s + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_seq_length, return_tensors="np")
            feeds = {n: enc[n].astype(np.int64) for n in self.inputs}
            hidden = self.session.run(None, feeds)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vec = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[idx] = vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
        return out

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.folder), **json.loads((self.folder / META_FILE).read_text())}
