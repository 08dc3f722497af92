"""Audio in: any container ffmpeg reads -> 16 kHz mono 16-bit WAV, read back window by window.

Whisper wants 16 kHz mono. Converting once to a WAV file lets every later step read just the
window it needs (`read_window`) instead of holding hours of audio in memory.
"""
from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from minutes.io import atomic_path

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """A file is not usable audio; the message names the file and what ffmpeg said."""


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not installed (Debian: apt-get install ffmpeg)")
    return exe


def is_wav16k(path: str | Path) -> bool:
    """True for a 16 kHz mono 16-bit PCM WAV (no conversion needed)."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
    except (wave.Error, EOFError, OSError, RuntimeError, ValueError):  # corrupt headers raise all of these
        return False


def to_wav16k(src: str | Path, dst: str | Path) -> Path:
    """Convert `src` (wav/mp3/ogg/m4a/mp4/...) to 16 kHz mono 16-bit WAV at `dst`, atomically.
    Raises AudioError (file and reason) for corrupt or audio-less input."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise AudioError(f"{src}: no such file")
    with atomic_path(dst, suffix=".wav") as tmp:
        proc = subprocess.run(
            [_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
             "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "wav", str(tmp)],
            capture_output=True, text=True)
        if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size <= 44:
            reason = (proc.stderr.strip().splitlines() or ["no audio stream"])[-1]
            tmp.unlink(missing_ok=True)
            raise AudioError(f"{src}: not readable audio ({reason})")
    if duration(dst) <= 0:
        dst.unlink(missing_ok=True)
        raise AudioError(f"{src}: contains no audio samples")
    return dst


def duration(path: str | Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def read_window(path: str | Path, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Samples [start, end) seconds of a 16 kHz mono WAV as float32 in [-1, 1]."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16 kHz mono 16-bit WAV (convert it with to_wav16k)")
        first = int(start * SAMPLE_RATE)
        last = w.getnframes() if end is None else min(w.getnframes(), int(end * SAMPLE_RATE))
        w.setpos(min(first, w.getnframes()))
        raw = w.readframes(max(0, last - first))
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def windows(path: str | Path, window_s: float, search_s: float = 5.0) -> list[tuple[float, float]]:
    """Cut a recording into windows of about `window_s` seconds. Each cut is moved to the
    quietest 50 ms within the last `search_s` seconds before the nominal boundary, so words
    are rarely cut in half. Only the search regions are read, never the whole file."""
    total = duration(path)
    bounds, start = [], 0.0
    while total - start > window_s:
        nominal = start + window_s
        lo = max(start + window_s / 2, nominal - search_s)
        seg = read_window(path, lo, nominal)
        frame = SAMPLE_RATE // 20
        n = len(seg) // frame
        if n > 0:
            energy = (seg[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
            cut = lo + (int(np.argmin(energy)) + 0.5) * frame / SAMPLE_RATE
        else:
            cut = nominal
        bounds.append((round(start, 3), round(cut, 3)))
        start = cut
    bounds.append((round(start, 3), round(total, 3)))
    return bounds


def write_wav16k(path: str | Path, samples: np.ndarray) -> Path:
    """Write float samples in [-1, 1] as a 16 kHz mono 16-bit WAV, atomically."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with atomic_path(path, suffix=".wav") as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(pcm.tobytes())
    return Path(path)
