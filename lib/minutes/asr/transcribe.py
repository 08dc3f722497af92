"""Transcribe one recording: convert if needed, cut into windows, run the backend per window."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from minutes.asr.audio import duration, is_wav16k, read_window, to_wav16k, windows
from minutes.asr.backends import load_backend
from minutes.asr.segments import Segment, shift
from minutes.config import Params
from minutes.config.asr import AsrParams


def _asr_and_cache(params: Params | AsrParams, cache_dir: Path | None) -> tuple[AsrParams, Path]:
    if isinstance(params, AsrParams):
        return params, Path(cache_dir or Path(tempfile.gettempdir()) / "minutes-cache")
    return params.asr, Path(cache_dir or params.work_dir / "cache")


def transcribe_file(path: str | Path, params: Params | AsrParams, *, cache_dir: Path | None = None,
                    cpu_threads: int | None = None, stats: dict[str, Any] | None = None) -> list[Segment]:
    """Segments {start, end, text, words?} of a recording in any format ffmpeg reads.

    Long recordings are transcribed window by window (`asr.chunk_seconds`), so memory stays flat.
    Raises minutes.asr.audio.AudioError for unusable audio. `stats`, when given, receives
    audio_s, seconds (wall time of transcription) and rtf (seconds / audio_s).
    """
    asr, cache = _asr_and_cache(params, cache_dir)
    backend = load_backend(asr, cache, cpu_threads)
    with tempfile.TemporaryDirectory(prefix="minutes-asr-") as tmp:
        wav = Path(path)
        if not is_wav16k(wav):
            wav = to_wav16k(path, Path(tmp) / "audio.wav")
        t0 = time.perf_counter()
        segments: list[Segment] = []
        for start, end in windows(wav, asr.chunk_seconds):
            audio = read_window(wav, start, end)
            segments.extend(shift(s, start) for s in backend.transcribe(audio, asr))
        elapsed = time.perf_counter() - t0
        audio_s = duration(wav)
    if stats is not None:
        stats.update(audio_s=round(audio_s, 3), seconds=round(elapsed, 3),
                     rtf=round(elapsed / audio_s, 4) if audio_s else None, backend=backend.name)
    return [s for s in segments if s["text"]]
