"""The embedding model as an ONNX graph, for the CPU runtimes that read one (onnxruntime int8,
OpenVINO), and the encode loop they share.

sentence-transformers' own ONNX and OpenVINO backends need optimum, which pins transformers < 4.58
and so cannot live beside transformers 5; this module exports with torch.onnx directly. Only
mean-pooling models are supported (MiniLM, mpnet): the pooling and normalization run in numpy.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from minutes.index.model_identity import ModelInfo, fingerprint, model_source
from minutes.io import read_json, write_json

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
FP32_FILE = "model_fp32.onnx"
META_FILE = "meta.json"
TOKENIZER_DIR = "tokenizer"


def cache_key(source: str, max_seq_length: int | None, *extra: str) -> str:
    """A folder name for an export of `source`: a model replaced in place gets a new one."""
    h = hashlib.sha256("|".join([source, str(max_seq_length), *extra]).encode())
    src = Path(source)
    if src.is_dir():
        for f in sorted(src.rglob("*")):
            if f.is_file() and f.suffix in (".json", ".safetensors", ".bin", ".txt"):
                st = f.stat()
                h.update(f"{f.relative_to(src)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _check_mean_pooling(st_model: Any, backend: str) -> None:
    from sentence_transformers.models import Pooling

    pools = [m for m in st_model if isinstance(m, Pooling)]
    # sentence-transformers 6 has `pooling_mode`; older releases `get_pooling_mode_str()`.
    mode = None
    if pools:
        mode = getattr(pools[0], "pooling_mode", None) or pools[0].get_pooling_mode_str()
    if mode not in ("mean", ["mean"], ("mean",)):
        raise ValueError(f"the {backend} backend supports mean-pooling sentence-transformers models only")


def export_onnx(name: str, folder: Path, backend: str, max_seq_length: int | None = None) -> dict[str, Any]:
    """Write `name`'s encoder to folder/model_fp32.onnx (dynamic batch and length), its tokenizer
    and meta.json; returns the meta. `folder` is a fresh (temporary) folder."""
    import torch
    from sentence_transformers import SentenceTransformer

    source = model_source(name)
    st = SentenceTransformer(source, device="cpu")
    _check_mean_pooling(st, backend)
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

    folder.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(Encoder(), tuple(enc[n] for n in names), str(folder / FP32_FILE), dynamo=False,
                          input_names=names, output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]})
    if tokenizer.pad_token_id != 0 or getattr(tokenizer, "pad_token_type_id", 0) != 0:
        raise ValueError(f"the {backend} backend pads with id 0; {name}'s tokenizer pads with "
                         f"{tokenizer.pad_token_id}")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"the {backend} backend needs a fast tokenizer (tokenizer.json) for {name}")
    tokenizer.save_pretrained(str(folder / TOKENIZER_DIR))
    meta = {"name": name, "source": source, "inputs": names, "dim": int(st.get_embedding_dimension()),
            "max_seq_length": int(st.max_seq_length), "fingerprint": fingerprint(st)}
    write_json(folder / META_FILE, meta)
    return meta


def load_tokenizer(folder: Path, max_seq_length: int) -> Any:
    """The export's fast tokenizer (tokenizer.json) on the `tokenizers` library, truncating at
    `max_seq_length` like `AutoTokenizer(texts, truncation=True, max_length=...)`: transformers
    would import torch into the service for it (a query embedder is meant to spare it torch)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tokenizer.no_padding()  # `pad` pads each batch to its longest text
    tokenizer.enable_truncation(max_length=max_seq_length)
    return tokenizer


def pad(encodings: Sequence[Any]) -> dict[str, "np.ndarray"]:
    """A batch of `tokenizers` encodings as int64 arrays padded on the right with 0 (the pad id
    and pad type id of BERT-style tokenizers, which export_onnx checks), like transformers' `pad`."""
    import numpy as np

    width = max(len(e.ids) for e in encodings)
    out = {n: np.zeros((len(encodings), width), dtype=np.int64)
           for n in ("input_ids", "attention_mask", "token_type_ids")}
    for row, e in enumerate(encodings):
        n = len(e.ids)
        out["input_ids"][row, :n] = e.ids
        out["attention_mask"][row, :n] = e.attention_mask
        out["token_type_ids"][row, :n] = e.type_ids
    return out


class PooledEncoder:
    """Mean pooling + L2 normalization over an exported encoder's hidden states, texts batched by
    length (less padding). Subclasses set `_run(feeds) -> hidden states`."""

    backend = ""
    _run: Callable[[dict[str, "np.ndarray"]], "np.ndarray"]

    def _load_meta(self, folder: Path, name: str) -> None:
        meta = read_json(folder / META_FILE)
        self.folder = folder
        self.inputs: list[str] = meta["inputs"]
        self.max_seq_length = int(meta["max_seq_length"])
        self.tokenizer = load_tokenizer(folder / TOKENIZER_DIR, self.max_seq_length)
        # Same model identity as the torch embedder: these vectors live in the same space.
        self.info = ModelInfo(name=name, source=meta["source"], dim=int(meta["dim"]),
                              max_seq_length=self.max_seq_length, fingerprint=meta["fingerprint"],
                              backend=self.backend)

    #: Word pieces per batch (batch size x longest text): the exported graphs materialize
    #: attention scores, so 64 chunks of 512 pieces thrash the cache (OpenVINO embedded 3x
    #: slower at batch 64 than at 16 here; 4096 pieces was fastest).
    max_batch_tokens = 4096

    def batches(self, lengths: Sequence[int], batch_size: int) -> list[list[int]]:
        """Row numbers by batch: sorted by length, at most `batch_size` rows and `max_batch_tokens`."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        batch: list[int] = []
        for i in order:  # ascending: row i is the longest of its batch
            if batch and (len(batch) >= batch_size or (len(batch) + 1) * lengths[i] > self.max_batch_tokens):
                out.append(batch)
                batch = []
            batch.append(i)
        return out + [batch] if batch else out

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> "np.ndarray":
        import numpy as np
        from tqdm.auto import tqdm

        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        if not len(texts):
            return out
        enc = self.tokenizer.encode_batch(list(texts))
        for idx in tqdm(self.batches([len(e.ids) for e in enc], batch_size),
                        desc=f"embed ({self.backend})", disable=not progress):
            padded = pad([enc[i] for i in idx])
            hidden = self._run({n: padded[n] for n in self.inputs})
            mask = padded["attention_mask"][..., None].astype(np.float32)
            vec = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[idx] = vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
        return out
