"""CTranslate2: the generator's fast CPU runtime (int8 weights, fused kernels, its own KV cache).

Eager torch spends most of a 135M-parameter decode step in Python and small kernels; the same
model converted to CTranslate2 (already installed for faster-whisper) decodes about twice as fast
on this CPU with int8 weights (`python -m minutes.bench generator --runtime`). The converted model is
cached beside the model it came from, keyed by that model's files, CTranslate2's version and the
compute type, and written atomically; a damaged cache is rebuilt. Both families convert: causal LMs
become a `ctranslate2.Generator`, seq2seq models a `ctranslate2.Translator`.

Decoding settings are the torch path's (greedy, the same repetition penalty and n-gram ban); the
runtime's own timer stops a decode at `max_time` as torch's does.

Each prompt is decoded alone, on one thread, `threads` of them side by side (CTranslate2's
inter_threads; the weights are shared). On this 2-core CPU one 48-token answer over a 384-token
prompt took 1.35 s on one thread and 2.02 s on two, and two prompts batched 4.13 s against 1.20 s
each when decoded side by side: a decode step of a 135M model is too small to split across cores,
and padding a batch costs more than it saves. Decoding alone also makes an answer independent of
whichever other prompts it would have been batched with, so 40_evaluate scores exactly what the
service answers. 40_evaluate scores with the
runtime the service uses (`serve.runtime`), so the gate judges what users will be answered with.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from minutes.io import atomic_path, read_json, write_json

log = logging.getLogger(__name__)

MANIFEST = "minutes_ct2.json"
#: Files of a model directory that decide its weights (what the cache key hashes).
_WEIGHT_GLOBS = ("*.safetensors", "*.bin", "config.json", "minutes_model.json", "adapter_config.json",
                 "tokenizer.json", "tokenizer_config.json", "spiece.model")


def source_digest(model_dirs: list[Path]) -> str:
    """A content hash of the model files the converted weights come from."""
    h = hashlib.sha256()
    for d in model_dirs:
        for pattern in _WEIGHT_GLOBS:
            for f in sorted(Path(d).glob(pattern)):
                h.update(f.name.encode())
                with f.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
    return h.hexdigest()[:16]


def _ct2_version() -> str:
    import ctranslate2

    return str(ctranslate2.__version__)


def converted_dir(root: Path, digest: str, compute_type: str) -> Path:
    return Path(root) / f"{digest}-{compute_type}"


def _valid(path: Path, digest: str, compute_type: str) -> bool:
    try:
        m = read_json(path / MANIFEST)
    except (OSError, ValueError):
        return False
    return (m.get("digest") == digest and m.get("compute_type") == compute_type
            and m.get("ctranslate2") == _ct2_version() and (path / "model.bin").is_file()
            and (path / "model.bin").stat().st_size == m.get("model_bytes"))


def convert(model: Any, tokenizer: Any, root: Path, digest: str, compute_type: str) -> Path:
    """The CTranslate2 copy of `model` (a loaded, merged transformers model), converting once."""
    from ctranslate2.converters import TransformersConverter

    dest = converted_dir(root, digest, compute_type)
    if _valid(dest, digest, compute_type):
        return dest
    if dest.exists():
        log.warning("rebuilding a damaged or outdated CTranslate2 model cache")
        shutil.rmtree(dest)
    t0 = time.perf_counter()
    Path(root).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".hf-") as hf_dir:
        model.save_pretrained(hf_dir)
        tokenizer.save_pretrained(hf_dir)
        with atomic_path(dest) as tmp:
            TransformersConverter(hf_dir).convert(str(tmp), quantization=compute_type, force=True)
            write_json(tmp / MANIFEST, {"digest": digest, "compute_type": compute_type,
                                        "ctranslate2": _ct2_version(),
                                        "model_bytes": (tmp / "model.bin").stat().st_size,
                                        "seconds": round(time.perf_counter() - t0, 1)})
    log.info("converted the generator to CTranslate2 %s in %.1f s", compute_type, time.perf_counter() - t0)
    return dest


def _deadline(max_time: float | None) -> Callable[[Any], bool] | None:
    """A step callback that stops decoding once `max_time` seconds have passed."""
    if max_time is None:
        return None
    stop_at = time.perf_counter() + float(max_time)
    return lambda _step: time.perf_counter() >= stop_at


@dataclass
class Ct2Backend:
    """Decodes prompts already turned into token ids by the `Generator` (same truncation, same
    chat template), so the two runtimes read exactly the same input."""

    engine: Any
    tokenizer: Any
    family: str
    compute_type: str
    path: Path
    #: prompts decoded side by side, one thread each
    parallel: int = 1

    @classmethod
    def load(cls, path: Path, tokenizer: Any, family: str, compute_type: str, threads: int) -> "Ct2Backend":
        import ctranslate2

        kind = ctranslate2.Translator if family == "seq2seq" else ctranslate2.Generator
        engine = kind(str(path), device="cpu", compute_type=compute_type, intra_threads=1,
                      inter_threads=max(1, threads))
        return cls(engine, tokenizer, family, compute_type, Path(path), max(1, threads))

    def generate(self, rows: list[list[int]], n_new: int, settings: dict[str, Any],
                 max_time: float | None = None) -> list[list[int]]:
        """New token ids per prompt (never the prompt itself). Each prompt is its own decode,
        queued on the engine's workers; `max_time` bounds each from the call."""
        common: dict[str, Any] = {"beam_size": int(settings.get("num_beams") or 1),
                                  "repetition_penalty": float(settings.get("repetition_penalty") or 1.0),
                                  "no_repeat_ngram_size": int(settings.get("no_repeat_ngram_size") or 0),
                                  "asynchronous": True}
        stop = _deadline(max_time)
        if stop is not None and common["beam_size"] == 1:  # CTranslate2 streams steps only in greedy search
            common["callback"] = stop
        pending = []
        for r in rows:
            tokens = [self.tokenizer.convert_ids_to_tokens(r)]
            if self.family == "seq2seq":
                pending.append(self.engine.translate_batch(tokens, max_decoding_length=n_new, **common)[0])
            else:
                pending.append(self.engine.generate_batch(tokens, max_length=n_new, include_prompt_in_result=False,
                                                          end_token=_end_tokens(self.tokenizer), **common)[0])
        results = [p.result() for p in pending]
        if self.family == "seq2seq":
            return [self.tokenizer.convert_tokens_to_ids(r.hypotheses[0]) for r in results]
        return [list(r.sequences_ids[0]) for r in results]


def _end_tokens(tokenizer: Any) -> list[str]:
    """The end-of-text and end-of-turn tokens a causal LM stops at."""
    ends = {tokenizer.eos_token} if tokenizer.eos_token else set()
    vocab = tokenizer.get_vocab()
    ends |= {t for t in ("<|im_end|>", "<end_of_turn>", "<|endoftext|>") if t in vocab}
    return sorted(ends)


def apply(generator: Any, params: Any, threads: int | None = None) -> Any:
    """The generator set to the profile's runtime (`serve.runtime`, `serve.compute_type`), with
    converted models cached in the work dir's train/ct2."""
    sp = params.serve
    n = threads if threads is not None else sp.torch_threads
    return generator.accelerate(sp.runtime, sp.compute_type, n, params.stage_dir("train") / "ct2")
