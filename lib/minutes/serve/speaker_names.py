"""Renamed speakers (PATCH /meetings/{id}/speakers): diarization says "Speaker 1..n", people say
who those are.

A rename is stored as a patch, in order, per meeting (<work>/serve/speakers/<meeting_id>.json,
atomic writes); stored transcripts keep the names they were made with. The corpus applies the
patches when it loads, and the index keeps the patches it has applied in its manifest
(Retriever.rename_speakers), so after a restart or a rebuild of the index (which starts from
the original names) the patches it lacks are applied again, in order, and never twice.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from minutes.data.chunking import SPEAKER_SEP
from minutes.io import read_json, write_json
from minutes.serve.errors import ApiError

MAX_NAME = 64
MAX_RENAMES = 64
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


def check_mapping(names: dict[str, str], current: Iterable[str]) -> dict[str, str]:
    """The renames that change something, each old name a speaker of the meeting and each new
    name one line of 1..64 characters without the ': ' that separates speaker and words in a
    chunk. Two old names may get one new name (diarization split one person in two)."""
    known = list(dict.fromkeys(current))
    if not names:
        raise ApiError(422, "names must map at least one speaker to a new name, e.g. {\"Speaker 1\": \"Alice\"}")
    if len(names) > MAX_RENAMES:
        raise ApiError(422, f"at most {MAX_RENAMES} speakers can be renamed at once, got {len(names)}")
    unknown = [old for old in names if old not in known]
    if unknown:
        shown = ", ".join(repr(s) for s in known[:12]) + (" ..." if len(known) > 12 else "")
        raise ApiError(422, f"{unknown[0]!r} is not a speaker of this meeting (its speakers: {shown})")
    out = {}
    for old, new in names.items():
        name = str(new).strip()
        if not 1 <= len(name) <= MAX_NAME or _BAD_NAME.search(name) or SPEAKER_SEP.strip() in name:
            raise ApiError(422, f"new name for {old!r} must be 1-{MAX_NAME} characters on one line, "
                                f"without ':', got {str(new)[:80]!r}")
        if name != old:
            out[old] = name
    return out


def apply(utterances: list[dict[str, Any]], patches: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
    """Utterances (copies where renamed) with each patch applied in order."""
    rows = utterances
    for mapping in patches:
        rows = [dict(u, speaker=mapping[u["speaker"]]) if u["speaker"] in mapping else u for u in rows]
    return rows


class SpeakerNames:
    """The stored patches of every meeting."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, meeting_id: str) -> Path:
        return self.folder / f"{meeting_id}.json"

    def patches(self, meeting_id: str) -> list[dict[str, str]]:
        path = self._path(meeting_id)
        return list(read_json(path)["patches"]) if path.is_file() else []

    def meetings(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.json")) if self.folder.is_dir() else []

    def add(self, meeting_id: str, mapping: dict[str, str]) -> None:
        write_json(self._path(meeting_id), {"meeting_id": meeting_id,
                                            "patches": [*self.patches(meeting_id), dict(mapping)]})

    def drop_last(self, meeting_id: str) -> None:
        """Undo `add` (the index could not be updated)."""
        patches = self.patches(meeting_id)[:-1]
        if patches:
            write_json(self._path(meeting_id), {"meeting_id": meeting_id, "patches": patches})
        else:
            self._path(meeting_id).unlink(missing_ok=True)


def missing_in_index(stored: list[dict[str, str]], applied: list[dict[str, str]]) -> list[dict[str, str]] | None:
    """The stored patches the index has not applied yet, or None when the index holds patches
    that are not a prefix of the stored ones (it cannot be brought in line by renaming)."""
    if stored[:len(applied)] != applied:
        return None
    return stored[len(applied):]
