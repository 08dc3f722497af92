"""What speech-to-text returns: timed segments, optionally with timed words."""
from __future__ import annotations

from typing import TypedDict


class Word(TypedDict):
    start: float
    end: float
    word: str
    probability: float


class _SegmentBase(TypedDict):
    start: float  # seconds from the start of the recording
    end: float
    text: str


class Segment(_SegmentBase, total=False):
    words: list[Word]  # only when asr.word_timestamps is set
    speaker: str  # only where the source knows it


def shift(segment: Segment, offset: float) -> Segment:
    """The segment moved by `offset` seconds (a window's start within the recording)."""
    out = Segment(start=round(segment["start"] + offset, 3), end=round(segment["end"] + offset, 3),
                  text=segment["text"].strip())
    if "words" in segment:
        out["words"] = [Word(start=round(w["start"] + offset, 3), end=round(w["end"] + offset, 3),
                             word=w["word"], probability=round(w["probability"], 4)) for w in segment["words"]]
    return out
