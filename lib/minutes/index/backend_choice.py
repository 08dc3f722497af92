"""`index.backend: auto`, decided by measuring on this machine rather than by CPU flags.

Which CPU backend embeds fastest depends on the machine in ways flags do not predict: OpenVINO
was 3.8x torch on a 2-core AMX Xeon (in bfloat16), 1.1-1.2x on a 2-core AVX2-only AMD EPYC
(fp32), and 0.72x on another AVX2 machine. So `auto` embeds the same probe texts with torch and with
OpenVINO once, and takes OpenVINO only where it is clearly faster *and* its vectors are torch's
(cosine >= MIN_COSINE on every probe text; onnx-int8 changes the vectors, so it is chosen only
by name, after 20_index's recall comparison). The verdict is kept per machine, libraries, model
and settings, so every later run (and the service, and Ray workers) resolves `auto` the same way
without measuring again.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from minutes.io import read_json, write_json

if TYPE_CHECKING:
    from minutes.config.index import IndexParams

log = logging.getLogger(__name__)

#: OpenVINO must be at least this much faster than torch (a margin over timing noise).
MIN_SPEEDUP = 1.10
#: ... and agree with torch this closely on every probe text (bf16 gave 0.99997, fp32 1.0).
MIN_COSINE = 0.9995
#: The probe: texts of meeting-turn lengths (words), embedded after one warm-up batch.
PROBE_WORDS = (40, 70, 100, 130, 160, 190, 220, 250, 280, 310, 340, 370)
FOLDER = "backend-choice"

_SENTENCES = (
    "Project Manager: so the main thing today is to agree on the budget for the remote control.",
    "Industrial Designer: I looked at the battery options and the kinetic one costs more.",
    "Marketing: our survey says younger users care about the look more than the buttons.",
    "User Interface: we could drop the teletext button, nobody in the study used it.",
    "Professor: the committee asked whether the pilot schools reported any attendance change.",
    "Grad Student: the recogniser errors mostly come from overlapping speech near the mic.",
)


def probe_texts() -> list[str]:
    """Deterministic transcript-like texts spanning the chunk lengths the index sees."""
    words = " ".join(_SENTENCES).split()
    return [" ".join(words[(i * 7 + j) % len(words)] for j in range(n)) for i, n in enumerate(PROBE_WORDS)]


def _cpu_identity() -> str:
    """Model name and flags of the CPU (Linux), else what platform says; plus the core count."""
    name, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    return f"{name or platform.processor()}|{flags}|{os.cpu_count()}"


def choice_key(index: "IndexParams", threads: int) -> str:
    """What the verdict depends on: this CPU, the two libraries, the model and its settings."""
    import openvino
    import torch

    from minutes.index.model_identity import model_source
    from minutes.index.onnx_export import cache_key

    model = cache_key(model_source(index.embedding_model), index.max_seq_length)
    parts = [_cpu_identity(), torch.__version__, openvino.__version__, model, index.openvino_precision,
             str(threads), str(torch.get_num_threads())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _throughput(encode: Callable[[list[str]], Any], texts: list[str]) -> tuple[float, Any]:
    encode(texts[:2])  # warm-up: first-call allocations and kernel selection
    t0 = time.perf_counter()
    vecs = encode(texts)
    return len(texts) / (time.perf_counter() - t0), vecs


def decide(speedup: float, cosine_min: float) -> str:
    """The rule: OpenVINO only when clearly faster and giving torch's vectors."""
    return "openvino" if speedup >= MIN_SPEEDUP and cosine_min >= MIN_COSINE else "torch"


def spread(texts: Sequence[str], n: int = len(PROBE_WORDS)) -> list[str]:
    """`n` texts evenly spaced over `texts` sorted by length (the corpus's length mix)."""
    ordered = sorted(texts, key=len)
    if len(ordered) <= n:
        return ordered
    step = len(ordered) / n
    return [ordered[int(i * step + step / 2)] for i in range(n)]


#: Builds an embedder for IndexParams with a concrete backend (minutes.index.embed.load_embedder,
#: passed in by its callers so that this module does not import it back).
Loader = Callable[["IndexParams", Path, int], Any]


def measure(index: "IndexParams", cache_dir: Path, load: Loader, threads: int = 0,
            texts: Sequence[str] | None = None) -> dict[str, Any]:
    """Embed the probe (or a length-spread sample of `texts`) with torch and OpenVINO, at the
    index's batch size; their throughputs, agreement and the verdict."""
    import numpy as np

    source = "corpus chunks" if texts else "built-in texts"
    texts = spread(texts) if texts else probe_texts()
    rates, vecs = {}, {}
    for backend in ("torch", "openvino"):
        emb = load(index.model_copy(update={"backend": backend}), cache_dir, threads)
        rates[backend], vecs[backend] = _throughput(
            lambda t, e=emb: e.encode(t, batch_size=index.batch_size), texts)
    precision = str(getattr(emb, "precision", "?"))  # what OpenVINO compiled to (bf16 or f32)
    cosine = float(np.min(np.sum(vecs["torch"] * vecs["openvino"], axis=1)))
    speedup = rates["openvino"] / rates["torch"]
    chosen = decide(speedup, cosine)
    return {"backend": chosen, "probe": source, "torch_chunks_per_s": round(rates["torch"], 2),
            "openvino_chunks_per_s": round(rates["openvino"], 2), "speedup": round(speedup, 3),
            "cosine_min": round(cosine, 6), "openvino_precision": precision, "probe_texts": len(texts),
            "rule": f"openvino if speedup >= {MIN_SPEEDUP} and cosine_min >= {MIN_COSINE}",
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def choose(index: "IndexParams", cache_dir: Path, load: Loader, threads: int = 0,
           texts: Sequence[str] | None = None) -> dict[str, Any]:
    """The verdict for `auto` on this machine: measured once (on `texts` when given: the index
    build passes its chunks), then read back by every later caller."""
    try:
        key = choice_key(index, threads)
    except ImportError:  # no OpenVINO here: torch is the only candidate
        return {"backend": "torch", "rule": "openvino is not installed"}
    path = Path(cache_dir) / FOLDER / f"{key}.json"
    if path.is_file():
        try:
            verdict = read_json(path)
            if verdict.get("backend") in ("torch", "openvino"):
                return verdict
        except ValueError:
            pass  # a damaged verdict is measured again
    log.info("index.backend auto: timing torch against OpenVINO on this machine")
    verdict = {**measure(index, cache_dir, load, threads, texts), "key": key}
    write_json(path, verdict)
    log.info("index.backend auto -> %s (%.2fx torch, cosine %.5f)", verdict["backend"], verdict["speedup"],
             verdict["cosine_min"])
    return verdict
