"""Speaker diarization: who spoke when, and speaker-labelled transcripts. One interface, a backend
per `asr.diarization.backend`:

    from minutes.asr.diarize import diarize_file, label_segments
    turns = diarize_file("talk.wav", params.asr.diarization)      # [{start, end, speaker}]
    segments = label_segments(transcribe_file("talk.wav", params), turns)

"resemblyzer" (default, offline): speech regions from Silero VAD, d-vectors of sliding windows,
agglomerative clustering that estimates the number of speakers, short flips merged. "pyannote"
(chameleon) needs pyannote.audio and its hub weights; without them it raises ModelUnavailable.
Speakers are "Speaker 1..n" in order of first appearance.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Hashable

import numpy as np

from minutes.asr.audio import duration, is_wav16k, read_window, to_wav16k
from minutes.asr.turns import Turn, label_segments, name_speakers, pieces_to_turns, smooth
from minutes.config.asr import DiarizationParams
from minutes.models import ModelUnavailable

__all__ = ["diarize", "diarize_file", "label_segments", "ModelUnavailable"]


def _window_pieces(times: np.ndarray, region_of: list[int], labels: np.ndarray,
                   regions: list[tuple[float, float]]) -> list[tuple[float, float, Hashable]]:
    """Each window owns the stretch of its region nearer its centre than its neighbours' centres."""
    centres = times.mean(axis=1)
    pieces: list[tuple[float, float, Hashable]] = []
    for i, r in enumerate(region_of):
        same_prev = i > 0 and region_of[i - 1] == r
        same_next = i + 1 < len(region_of) and region_of[i + 1] == r
        start = (centres[i - 1] + centres[i]) / 2 if same_prev else regions[r][0]
        end = (centres[i] + centres[i + 1]) / 2 if same_next else regions[r][1]
        pieces.append((float(start), float(end), int(labels[i])))
    return pieces


def _resemblyzer(audio: np.ndarray, dp: DiarizationParams, num_speakers: int | None) -> list[Turn]:
    from minutes.asr.cluster import cluster_speakers, context_mean
    from minutes.asr.speaker_embed import speech_regions, window_embeddings

    regions = speech_regions(audio, dp)
    times, emb, region_of = window_embeddings(audio, regions, dp)
    if not len(emb):
        return []
    labels = cluster_speakers(context_mean(emb, region_of, dp.context_windows), dp.threshold, num_speakers, dp.min_speakers, dp.max_speakers,
                              min_cluster=max(1, int(round(dp.min_speaker_s / dp.step_s))))
    turns = smooth(pieces_to_turns(_window_pieces(times, region_of, labels, regions)), dp.min_turn_s, dp.max_gap_s)
    return name_speakers(turns)


def _pyannote(wav: Path, dp: DiarizationParams, num_speakers: int | None) -> list[Turn]:
    try:
        from pyannote.audio import Pipeline
    except ImportError as exc:
        raise ModelUnavailable("diarization backend 'pyannote' needs pyannote.audio and its hub weights "
                               f"({dp.pyannote_pipeline}); offline profiles use backend 'resemblyzer'") from exc
    try:
        pipeline = Pipeline.from_pretrained(dp.pyannote_pipeline)
    except Exception as exc:  # hub, token and cache errors all mean the same thing here
        raise ModelUnavailable(f"pyannote pipeline {dp.pyannote_pipeline!r} could not be loaded "
                               f"({type(exc).__name__}); it needs the hub and a token") from exc
    if pipeline is None:
        raise ModelUnavailable(f"pyannote pipeline {dp.pyannote_pipeline!r} is gated: accept its terms and set a token")
    bounds: dict[str, Any] = ({"num_speakers": num_speakers} if num_speakers else
                              {"min_speakers": dp.min_speakers, "max_speakers": dp.max_speakers})
    result = pipeline(str(wav), **bounds)
    annotation = getattr(result, "speaker_diarization", result)
    pieces = [(seg.start, seg.end, label) for seg, _, label in annotation.itertracks(yield_label=True)]
    return name_speakers(smooth(pieces_to_turns(pieces), dp.min_turn_s, dp.max_gap_s))


def diarize(audio: np.ndarray, dp: DiarizationParams, num_speakers: int | None = None) -> list[Turn]:
    """Turns of 16 kHz mono float32 samples with the resemblyzer backend ([] without speech)."""
    if num_speakers is not None and num_speakers < 1:
        raise ValueError(f"num_speakers must be at least 1, got {num_speakers}")
    if dp.backend != "resemblyzer":
        raise ValueError("diarize() takes samples only with backend 'resemblyzer'; use diarize_file")
    return _resemblyzer(np.asarray(audio, dtype=np.float32), dp, num_speakers)


def diarize_file(path: str | Path, dp: DiarizationParams, num_speakers: int | None = None,
                 stats: dict[str, Any] | None = None) -> list[Turn]:
    """Turns {start, end, speaker} of a recording in any format ffmpeg reads.
    Raises AudioError for unusable audio, ModelUnavailable for a backend that cannot load.
    `stats`, when given, receives audio_s, seconds (wall time) and rtf."""
    import time

    if num_speakers is not None and num_speakers < 1:
        raise ValueError(f"num_speakers must be at least 1, got {num_speakers}")
    with tempfile.TemporaryDirectory(prefix="minutes-diarize-") as tmp:
        wav = Path(path)
        if not is_wav16k(wav):
            wav = to_wav16k(path, Path(tmp) / "audio.wav")
        t0 = time.perf_counter()
        if dp.backend == "pyannote":
            turns = _pyannote(wav, dp, num_speakers)
        else:
            turns = _resemblyzer(read_window(wav), dp, num_speakers)
        elapsed = time.perf_counter() - t0
        audio_s = duration(wav)
    if stats is not None:
        stats.update(audio_s=round(audio_s, 3), seconds=round(elapsed, 3),
                     rtf=round(elapsed / audio_s, 4) if audio_s else None, backend=dp.backend,
                     speakers=len({t["speaker"] for t in turns}))
    return turns
