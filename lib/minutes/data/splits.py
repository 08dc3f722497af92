"""Train/val/test by meeting id. QMSum meetings keep QMSum's own split (its folder); derived
meetings (synthesized, transcribed) inherit the split of the meeting they come from, and a
user's own recordings go to "test" (never trained on)."""
from __future__ import annotations

from typing import Any, Iterable

SPLITS = ("train", "val", "test")


class SplitOverlap(ValueError):
    """A meeting id appears in more than one split."""


def build_splits(meetings: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """{"train": [...], "val": [...], "test": [...]} from meeting records; checks disjointness."""
    splits: dict[str, list[str]] = {s: [] for s in SPLITS}
    for m in meetings:
        if m["split"] not in splits:
            raise ValueError(f"meeting {m['meeting_id']}: unknown split {m['split']!r} (expected one of {SPLITS})")
        splits[m["split"]].append(m["meeting_id"])
    splits = {s: sorted(ids) for s, ids in splits.items()}
    check_disjoint(splits)
    return splits


def check_disjoint(splits: dict[str, list[str]]) -> None:
    seen: dict[str, str] = {}
    for split, ids in splits.items():
        for mid in ids:
            if mid in seen:
                raise SplitOverlap(f"meeting {mid!r} is in both {seen[mid]!r} and {split!r}")
            seen[mid] = split
