"""Uploaded transcripts (json, txt, vtt) into utterances in the schema's shape.

txt is one "Speaker: text" turn a line (times estimated from word counts, as ETL does for QMSum);
vtt cues keep their times and take the speaker from "<v Name>" or a "Name:" prefix; json is a list
of {speaker, text, start?, end?} (or {"utterances": [...]}). Each row says whether its times are
"real" or "estimated" (`timing`, as in schema.Utterance).
"""
from __future__ import annotations

import json
import re
from typing import Any

from minutes.serve.uploads import UploadError
from minutes.text import clean_text, estimate_times

_VTT_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")
_VTT_CUE = re.compile(rf"^\s*({_VTT_TIME.pattern})\s*-->\s*({_VTT_TIME.pattern})")
_SPEAKER = re.compile(r"^\s*([^:]{1,60}):\s+(.*\S)\s*$")
_VOICE = re.compile(r"^<v(?:\.[^ >]*)?\s+([^>]+)>(.*?)(?:</v>)?$")


def _seconds(stamp: str) -> float:
    m = _VTT_TIME.fullmatch(stamp.strip())
    if not m:
        raise ValueError(stamp)
    h, mi, s, ms = m.groups()
    return int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000


def _estimate_times(turns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Rows timed as ETL times QMSum: from the words left after cleaning."""
    times = estimate_times([clean_text(text) for _, text in turns])
    return [{"speaker": speaker, "text": text, "start": start, "end": end, "timing": "estimated"}
            for (speaker, text), (start, end) in zip(turns, times)]


def parse_txt(text: str, name: str) -> list[dict[str, Any]]:
    turns = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _SPEAKER.match(line)
        if not m:
            raise UploadError(422, f"{name}: line {n} is not 'Speaker: text'")
        turns.append((m.group(1).strip(), m.group(2)))
    return _estimate_times(turns)


def parse_vtt(text: str, name: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise UploadError(422, f"{name}: a .vtt file must start with 'WEBVTT'")
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(lines):
        m = _VTT_CUE.match(lines[i])
        i += 1
        if not m:
            continue
        start, end = _seconds(m.group(1)), _seconds(m.group(6))
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        cue = " ".join(body)
        speaker = "Speaker"
        if (v := _VOICE.match(cue)) is not None:
            speaker, cue = v.group(1).strip(), v.group(2).strip()
        elif (s := _SPEAKER.match(cue)) is not None:
            speaker, cue = s.group(1).strip(), s.group(2)
        if cue:
            out.append({"speaker": speaker, "text": cue, "start": start, "end": max(end, start), "timing": "real"})
    return out


def parse_json(text: str, name: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UploadError(422, f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    rows = data.get("utterances") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise UploadError(422, f"{name}: expected a list of utterances or {{\"utterances\": [...]}}")
    turns, timed = [], []
    for n, r in enumerate(rows):
        if not isinstance(r, dict) or not isinstance(r.get("text"), str) or not isinstance(r.get("speaker", ""), str):
            raise UploadError(422, f"{name}: utterance {n} needs a string 'text' (and a string 'speaker')")
        turns.append((r.get("speaker") or "Speaker", r["text"].strip()))
        if isinstance(r.get("start"), (int, float)) and isinstance(r.get("end"), (int, float)):
            timed.append({"speaker": turns[-1][0], "text": turns[-1][1], "start": float(r["start"]),
                          "end": float(r["end"]), "timing": "real"})
    return timed if len(timed) == len(rows) else _estimate_times(turns)


def parse_transcript(data: bytes, name: str) -> list[dict[str, Any]]:
    """Utterance dicts (speaker, text, start, end, timing) from an uploaded transcript file; the
    text is as written (ingest cleans it)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(422, f"{name}: transcripts must be UTF-8 text") from exc
    suffix = name.rsplit(".", 1)[-1].lower()
    parser = {"txt": parse_txt, "vtt": parse_vtt, "json": parse_json}[suffix]
    rows = [r for r in parser(text, name) if r["text"].strip()]
    if not rows:
        raise UploadError(422, f"{name}: the transcript holds no utterances")
    return rows
