"""Speech regions (Silero VAD, as packaged with faster-whisper) and speaker embeddings of sliding
windows inside them (resemblyzer's d-vector encoder, whose weights ship in its wheel: offline)."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from minutes.asr.audio import SAMPLE_RATE
from minutes.config.asr import DiarizationParams

#: The encoder's mel frames are 10 ms apart (resemblyzer.hparams.mel_window_step).
FRAME_S = 0.01
#: Regions shorter than this carry too little voice to embed and are left out.
MIN_REGION_S = 0.2


def speech_regions(audio: np.ndarray, dp: DiarizationParams) -> list[tuple[float, float]]:
    """(start, end) seconds of speech, from the Silero VAD that faster-whisper ships."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio) < SAMPLE_RATE // 10:
        return []
    opts = VadOptions(min_silence_duration_ms=dp.vad_min_silence_ms, speech_pad_ms=dp.vad_pad_ms)
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in get_speech_timestamps(audio, opts)]


@functools.lru_cache(maxsize=1)
def encoder() -> Any:
    """resemblyzer's VoiceEncoder on the CPU, loaded once per process (17 MB, from its wheel)."""
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


def _window_starts(n_frames: int, win: int, hop: int) -> list[int]:
    if n_frames <= win:
        return [0]
    starts = list(range(0, n_frames - win + 1, hop))
    if starts[-1] != n_frames - win:
        starts.append(n_frames - win)
    return starts


def window_embeddings(audio: np.ndarray, regions: list[tuple[float, float]],
                      dp: DiarizationParams) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Embeddings of windows of `dp.window_s` every `dp.step_s` inside each speech region.

    Returns (times, embeddings, region_of): times[i] = (start, end) of window i in seconds,
    embeddings[i] its L2-normalised d-vector (256 floats), region_of[i] the index of its region.
    A region shorter than a window is embedded whole."""
    import torch
    from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

    enc = encoder()
    win, hop = int(round(dp.window_s / FRAME_S)), max(1, int(round(dp.step_s / FRAME_S)))
    times: list[tuple[float, float]] = []
    region_of: list[int] = []
    full: list[np.ndarray] = []  # windows of exactly `win` frames, batched
    short: list[tuple[int, np.ndarray]] = []  # (position, mel) of shorter regions, one by one
    for r, (start, end) in enumerate(regions):
        if end - start < MIN_REGION_S:
            continue
        wav = normalize_volume(audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)], -30, increase_only=True)
        mel = wav_to_mel_spectrogram(wav)
        for s in _window_starts(len(mel), win, hop):
            piece = mel[s:s + win]
            times.append((start + s * FRAME_S, min(end, start + (s + len(piece)) * FRAME_S)))
            region_of.append(r)
            if len(piece) == win:
                full.append(piece)
            else:
                short.append((len(times) - 1, piece))
    if not times:
        return np.zeros((0, 2)), np.zeros((0, 256), dtype=np.float32), []
    out = np.zeros((len(times), 256), dtype=np.float32)
    is_full = np.ones(len(times), dtype=bool)
    is_full[[i for i, _ in short]] = False
    with torch.inference_mode():
        if full:
            batch = np.stack(full).astype(np.float32)
            embs = [enc(torch.from_numpy(batch[i:i + 256])).numpy() for i in range(0, len(batch), 256)]
            out[is_full] = np.concatenate(embs)
        for i, piece in short:
            out[i] = enc(torch.from_numpy(piece[None].astype(np.float32))).numpy()[0]
    return np.asarray(times), out, region_of
