"""Speaker turns (who spoke when) and how transcript segments and words take their speaker.

Pure functions over times, no models: the diarization backends produce raw labelled pieces, these
rules turn them into turns (short flips merged, speakers named in order of appearance) and label
Whisper's segments, or its words where word timestamps exist.
"""
from __future__ import annotations

from typing import Hashable, Sequence, TypedDict

from minutes.asr.segments import Segment, Word


class Turn(TypedDict):
    start: float  # seconds from the start of the recording
    end: float
    speaker: str


def speaker_name(n: int) -> str:
    """The label of the n-th speaker to appear (1-based): "Speaker n"."""
    return f"Speaker {n}"


def pieces_to_turns(pieces: Sequence[tuple[float, float, Hashable]]) -> list[tuple[float, float, Hashable]]:
    """Time-ordered (start, end, label) pieces with touching same-label neighbours joined."""
    out: list[tuple[float, float, Hashable]] = []
    for start, end, label in sorted(pieces, key=lambda p: (p[0], p[1])):
        if end <= start:
            continue
        if out and out[-1][2] == label and start - out[-1][1] <= 1e-6:
            out[-1] = (out[-1][0], max(out[-1][1], end), label)
        else:
            out.append((start, end, label))
    return out


def _merge_gaps(turns: list[tuple[float, float, Hashable]], max_gap_s: float) -> list[tuple[float, float, Hashable]]:
    out: list[tuple[float, float, Hashable]] = []
    for t in turns:
        if out and out[-1][2] == t[2] and t[0] - out[-1][1] <= max_gap_s:
            out[-1] = (out[-1][0], max(out[-1][1], t[1]), t[2])
        else:
            out.append(t)
    return out


def smooth(turns: Sequence[tuple[float, float, Hashable]], min_turn_s: float,
           max_gap_s: float) -> list[tuple[float, float, Hashable]]:
    """Merge short flips: a turn under `min_turn_s` that touches another turn (gap at most
    `max_gap_s`) goes to its neighbour (the one both sides agree on, else the longer one), and
    one speaker's turns separated by less than `max_gap_s` of silence become one turn. A short
    turn standing alone between silences is kept: it is a short utterance, not a flip."""
    out = _merge_gaps(sorted(turns, key=lambda t: t[0]), max_gap_s)
    while True:
        candidates = []
        for i, (start, end, _) in enumerate(out):
            if end - start >= min_turn_s:
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(out)
                    and (out[j][0] - end if j > i else start - out[j][1]) <= max_gap_s]
            if near:
                candidates.append((end - start, i, near))
        if not candidates:
            return out
        _, i, near = min(candidates)
        labels = {out[j][2] for j in near}
        target = near[0] if len(labels) == 1 else max(near, key=lambda j: out[j][1] - out[j][0])
        out[i] = (out[i][0], out[i][1], out[target][2])
        out = _merge_gaps(out, max_gap_s)


def name_speakers(turns: Sequence[tuple[float, float, Hashable]],
                  names: dict[Hashable, str] | None = None) -> list[Turn]:
    """Turns labelled "Speaker 1..n" in order of first appearance (or by `names` where given)."""
    order: dict[Hashable, str] = {}
    out = []
    for start, end, label in sorted(turns, key=lambda t: t[0]):
        if label not in order:
            order[label] = (names or {}).get(label) or speaker_name(len(order) + 1)
        out.append(Turn(start=round(float(start), 3), end=round(float(end), 3), speaker=order[label]))
    return out


def speaker_for(turns: Sequence[Turn], start: float, end: float) -> str | None:
    """The speaker of the turn overlapping [start, end] most; with no overlap, the nearest turn's
    speaker; None when there are no turns."""
    if not turns:
        return None
    best = max(turns, key=lambda t: min(end, t["end"]) - max(start, t["start"]))
    if min(end, best["end"]) - max(start, best["start"]) > 0:
        return best["speaker"]
    mid = (start + end) / 2
    return min(turns, key=lambda t: max(t["start"] - mid, mid - t["end"], 0.0))["speaker"]


def label_segments(segments: Sequence[Segment], turns: Sequence[Turn],
                   default: str = speaker_name(1)) -> list[Segment]:
    """Segments with a `speaker`. With word times each word takes the speaker of the turn it
    overlaps most and a segment is split where the speaker changes between words; without, the
    whole segment takes the turn it overlaps most. `default` labels everything when no turns
    were found (speech too short or quiet to embed)."""
    out: list[Segment] = []
    for seg in segments:
        words = seg.get("words") or []
        if not words:
            out.append({**seg, "speaker": speaker_for(turns, seg["start"], seg["end"]) or default})
            continue
        groups: list[tuple[str, list[Word]]] = []
        for w in words:
            who = speaker_for(turns, w["start"], w["end"]) or default
            if groups and groups[-1][0] == who:
                groups[-1][1].append(w)
            else:
                groups.append((who, [w]))
        if len(groups) == 1:  # one speaker: keep Whisper's own text
            out.append({**seg, "speaker": groups[0][0]})
            continue
        for n, (who, ws) in enumerate(groups):
            start = seg["start"] if n == 0 else ws[0]["start"]
            end = seg["end"] if n == len(groups) - 1 else ws[-1]["end"]
            out.append(Segment(start=start, end=end, text=" ".join(w["word"] for w in ws).strip(),
                               words=ws, speaker=who))
    return out
