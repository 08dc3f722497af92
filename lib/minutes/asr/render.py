"""Transcripts for people and players: plain text, WebVTT subtitles, JSON."""
from __future__ import annotations

import json
from typing import Any, Sequence

from minutes.asr.segments import Segment


def _clock(seconds: float, sep: str = ".") -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_txt(segments: Sequence[Segment], timestamps: bool = True) -> str:
    """One line per segment: "[00:01:02] Speaker: text" (speaker where known)."""
    lines = []
    for s in segments:
        who = f"{s['speaker']}: " if s.get("speaker") else ""
        stamp = f"[{_clock(s['start'])[:8]}] " if timestamps else ""
        lines.append(f"{stamp}{who}{s['text']}")
    return "\n".join(lines) + ("\n" if lines else "")


def to_vtt(segments: Sequence[Segment]) -> str:
    """WebVTT: one cue per segment; speakers as <v> voice spans."""
    out = ["WEBVTT", ""]
    for n, s in enumerate(segments, 1):
        text = s["text"].replace("-->", "->")
        if s.get("speaker"):
            text = f"<v {s['speaker']}>{text}"
        out += [str(n), f"{_clock(s['start'])} --> {_clock(max(s['end'], s['start'] + 0.001))}", text, ""]
    return "\n".join(out)


def to_srt(segments: Sequence[Segment]) -> str:
    """SubRip: one numbered cue per segment; the speaker, where known, as a "Speaker: " prefix."""
    out = []
    for n, s in enumerate(segments, 1):
        who = f"{s['speaker']}: " if s.get("speaker") else ""
        out += [str(n), f"{_clock(s['start'], ',')} --> {_clock(max(s['end'], s['start'] + 0.001), ',')}",
                f"{who}{s['text']}", ""]
    return "\n".join(out)


def to_json(segments: Sequence[Segment], **meta: Any) -> str:
    """{"segments": [...], **meta} (e.g. meeting_id, backend, model, audio_s)."""
    return json.dumps({**meta, "segments": list(segments)}, ensure_ascii=False, indent=1)
