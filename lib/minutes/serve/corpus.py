"""The meetings the service can cite: ETL utterances plus meetings ingested while it runs.

Answers cite utterances (speaker, start, end), not whole chunks, so every retrieved chunk is
narrowed to the utterance in it that best supports the answer. Ingested meetings are kept in
<work>/serve/ingested/<meeting_id>.jsonl (atomic writes) so a restarted service still knows them.
"""
from __future__ import annotations

import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from minutes import schema
from minutes.io import read_jsonl, write_jsonl

MEETING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TAG = re.compile(r"\{[a-z_]+\}\s*")
_WORD = re.compile(r"[a-z0-9']+")


def clean(text: str) -> str:
    """Drop QMSum/AMI disfluency tags such as {vocalsound} for display."""
    return re.sub(r"\s+", " ", _TAG.sub("", text)).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Corpus:
    """Utterances by meeting, safe to read while an ingest adds a meeting."""

    def __init__(self, ingested_dir: Path) -> None:
        self.ingested_dir = ingested_dir
        self._utts: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, etl_dir: Path, ingested_dir: Path) -> "Corpus":
        corpus = cls(ingested_dir)
        path = etl_dir / schema.UTTERANCES
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no utterances; run notebook 10_etl first")
        by_meeting: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for u in read_jsonl(path):
            by_meeting[u["meeting_id"]].append(u)
        for f in sorted(ingested_dir.glob("*.jsonl")) if ingested_dir.is_dir() else []:
            rows = read_jsonl(f)
            if rows:
                by_meeting[rows[0]["meeting_id"]] = rows
        corpus._utts = {m: sorted(us, key=lambda u: u["idx"]) for m, us in by_meeting.items()}
        return corpus

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._utts

    def __len__(self) -> int:
        return len(self._utts)

    def utterances(self, meeting_id: str) -> list[dict[str, Any]]:
        return self._utts[meeting_id]

    def ingested_ids(self) -> list[str]:
        return sorted(p.stem for p in self.ingested_dir.glob("*.jsonl")) if self.ingested_dir.is_dir() else []

    def add(self, meeting_id: str, utterances: Iterable[dict[str, Any]]) -> None:
        """Persist (atomically) and publish a new meeting's utterances."""
        rows = list(utterances)
        write_jsonl(self.ingested_dir / f"{meeting_id}.jsonl", rows)
        with self._lock:
            self._utts = {**self._utts, meeting_id: rows}  # copy-on-write: readers never see a half state

    def remove(self, meeting_id: str) -> None:
        """Undo `add` (an index update failed after the transcript was stored)."""
        (self.ingested_dir / f"{meeting_id}.jsonl").unlink(missing_ok=True)
        with self._lock:
            self._utts = {m: us for m, us in self._utts.items() if m != meeting_id}

    def meetings(self) -> list[dict[str, Any]]:
        ingested = set(self.ingested_ids())
        out = []
        for mid, us in sorted(self._utts.items()):
            out.append({
                "meeting_id": mid, "domain": us[0].get("domain", "Other"), "split": us[0].get("split", ""),
                "n_utterances": len(us), "duration_s": round(max(u["end"] for u in us), 1),
                "speakers": sorted({u["speaker"] for u in us}),
                "source": "ingested" if mid in ingested else us[0].get("source", "manual"),
            })
        return out

    def cite(self, hit: dict[str, Any], answer: str) -> dict[str, Any]:
        """The utterance of a retrieved chunk that shares most words with the answer."""
        us = self._utts.get(hit["meeting_id"], [])
        span = [u for u in us if hit["utt_start"] <= u["idx"] <= hit["utt_end"]]
        answer_words = set(words(answer))
        best = max(span, key=lambda u: len(answer_words & set(words(u["text"]))), default=None)
        if best is None:  # chunk of a meeting the corpus does not hold: cite the chunk itself
            speakers = hit.get("speakers") or []
            return {"meeting_id": hit["meeting_id"], "chunk_id": hit["chunk_id"],
                    "speaker": ", ".join(speakers), "start": float(hit["start"]), "end": float(hit["end"]),
                    "text": clean(hit["text"]), "score": float(hit["score"])}
        return {"meeting_id": hit["meeting_id"], "chunk_id": hit["chunk_id"], "speaker": best["speaker"],
                "start": float(best["start"]), "end": float(best["end"]), "text": clean(best["text"]),
                "score": float(hit["score"])}
