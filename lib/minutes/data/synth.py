"""Synthesized meetings: QMSum turns rendered to speech with espeak-ng, one voice per speaker.

This gives real audio with a known transcript and known turn times on a machine without data
downloads (local/ci profiles), so speech-to-text can be run and scored (WER) end to end. Each
turn is rendered on its own (espeak-ng at 22.05 kHz), turns are laid end to end with a fixed
pause, and the track is converted once to 16 kHz mono WAV. A turn's start/end are the exact
sample positions of its audio in the track.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from minutes.asr.audio import to_wav16k

#: (espeak-ng voice, pitch 0-99): twelve voices that a speaker encoder tells apart and Whisper
#: understands, chosen by measurement (`python -m minutes.bench voices`, which redoes the choice):
#: 576 candidates (8 English variants x 36 voice variants x pitch 30 or 60), embedded with
#: resemblyzer and transcribed by Whisper tiny.en; of those with a WER of at most 20 % on twelve
#: QMSum turns, twelve picked greedily to keep the smallest cosine distance between two of them as
#: large as possible. This palette: smallest distance 0.19, mean WER 18 %. The palette before it
#: (neighbouring variants such as m1 and m3 at near pitches) held pairs a diarizer hears as one.
VOICES: tuple[tuple[str, int], ...] = (
    ("en-us+klatt3", 60), ("en-us+iven", 30), ("en-us+f3", 60), ("en-gb-x-gbcwmd+m8", 30),
    ("en-gb-x-rp+grandma", 60), ("en-us+david", 30), ("en-gb-scotland+edward", 30), ("en-gb-x-gbcwmd+m5", 60),
    ("en-us+m1", 30), ("en-gb-x-rp+m7", 60), ("en-gb-x-rp+f2", 60), ("en-us+paul", 30),
)
#: The hard case for diarization: one espeak-ng voice for every speaker, only the pitch differs.
SAME_VOICE: tuple[tuple[str, int], ...] = (("en-us+m3", 20), ("en-us+m3", 50), ("en-us+m3", 80), ("en-us+m3", 35),
                                           ("en-us+m3", 65), ("en-us+m3", 95))


class SynthError(RuntimeError):
    """espeak-ng is missing or refused a turn; the message names the turn."""


@dataclass
class RenderedTurn:
    speaker: str
    text: str  # the reference: exactly what was spoken
    start: float  # seconds in the rendered track
    end: float
    voice: str
    pitch: int = 50


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return exe


def assign_voices(speakers: Sequence[str], voices: Sequence[tuple[str, int]] = VOICES) -> dict[str, tuple[str, int]]:
    """A distinct voice per speaker, in order of first appearance (cycles after len(voices))."""
    order = list(dict.fromkeys(speakers))
    return {s: voices[i % len(voices)] for i, s in enumerate(order)}


def speak(text: str, voice: str, pitch: int, words_per_minute: int) -> tuple[np.ndarray, int]:
    """One utterance as int16 samples and their sample rate (espeak-ng's own, 22050 Hz)."""
    proc = subprocess.run([_espeak(), "-v", voice, "-p", str(pitch), "-s", str(words_per_minute), "--stdout",
                           "--stdin"], input=text.encode("utf-8"), capture_output=True)
    if proc.returncode != 0 or len(proc.stdout) <= 44:
        raise SynthError(f"espeak-ng voice {voice!r} failed on {text[:40]!r}: "
                         f"{proc.stderr.decode(errors='replace').strip() or 'no audio'}")
    with wave.open(io.BytesIO(proc.stdout), "rb") as w:
        rate = w.getframerate()
        # espeak-ng streams a WAV with an unknown length; read whatever follows the header.
        raw = w.readframes(w.getnframes() if 0 < w.getnframes() < 2**31 - 1 else 2**31 - 1)
    return np.frombuffer(raw, dtype="<i2"), rate


def render_meeting(turns: Sequence[tuple[str, str]], out_wav: str | Path, words_per_minute: int = 170,
                   pause_seconds: float = 0.4, voices: Sequence[tuple[str, int]] = VOICES,
                   overlap_seconds: float = 0.0, overlap_every: int = 2) -> list[RenderedTurn]:
    """Render (speaker, text) turns into one 16 kHz mono WAV; returns each turn's timing.
    Empty turns are skipped. The WAV is written atomically.

    Harder cases for diarization: `voices` (e.g. SAME_VOICE: one voice, different pitches) and
    `overlap_seconds` > 0: every `overlap_every`-th change of speaker starts that many seconds
    before the previous turn ends (at most half of it), the two voices mixed."""
    assigned = assign_voices([s for s, t in turns if t.strip()], voices)
    placed: list[tuple[int, np.ndarray]] = []
    rendered: list[RenderedTurn] = []
    rate, pos, changes = 22050, 0, 0
    for speaker, text in turns:
        if not text.strip():
            continue
        voice, pitch = assigned[speaker]
        samples, rate = speak(text, voice, pitch, words_per_minute)
        start = pos
        if rendered and rendered[-1].speaker != speaker:
            changes += 1
            if overlap_seconds > 0 and overlap_every > 0 and changes % overlap_every == 0:
                prev_len = len(placed[-1][1])
                start = placed[-1][0] + prev_len - min(int(overlap_seconds * rate), prev_len // 2)
        rendered.append(RenderedTurn(speaker, text, round(start / rate, 3), round((start + len(samples)) / rate, 3),
                                     voice, pitch))
        placed.append((start, samples))
        pos = max(pos, start + len(samples) + int(pause_seconds * rate))
    if not rendered:
        raise SynthError(f"{out_wav}: nothing to render (every turn is empty)")
    track = np.zeros(pos, dtype=np.int32)
    for start, samples in placed:
        track[start:start + len(samples)] += samples
    with tempfile.TemporaryDirectory(prefix="minutes-synth-") as tmp:
        raw = Path(tmp) / "track.wav"
        with wave.open(str(raw), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.clip(track, -32768, 32767).astype("<i2").tobytes())
        to_wav16k(raw, out_wav)  # atomic
    return rendered


def script_from_utterances(utterances: Sequence[dict[str, Any]], max_turns: int,
                           max_words_per_turn: int) -> list[tuple[str, str]]:
    """The (speaker, text) turns to render from a meeting: the first `max_turns` non-empty
    cleaned turns, each cut to `max_words_per_turn` words."""
    script = []
    for u in utterances:
        words = u["text"].split()
        if words:
            script.append((u["speaker"], " ".join(words[:max_words_per_turn])))
        if len(script) >= max_turns:
            break
    return script


def speaker_at(turns: Sequence[RenderedTurn], start: float, end: float) -> str:
    """The speaker whose rendered turn overlaps [start, end] most (nearest turn if none does)."""
    best, best_overlap = turns[0].speaker, -1.0
    for t in turns:
        overlap = min(end, t.end) - max(start, t.start)
        if overlap > best_overlap:
            best, best_overlap = t.speaker, overlap
    if best_overlap <= 0:
        mid = (start + end) / 2
        best = min(turns, key=lambda t: min(abs(mid - t.start), abs(mid - t.end))).speaker
    return best
