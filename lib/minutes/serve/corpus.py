"""The meetings the service can cite: ETL utterances plus meetings ingested while it runs.

Answers cite utterances (speaker, start, end), not whole chunks, so every retrieved chunk is
narrowed to the utterance in it that best supports the answer. Ingested meetings are kept in
<work>/serve/ingested/<meeting_id>.jsonl (atomic writes) so a restarted service still knows them.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterable, Literal

from minutes import schema
from minutes.io import read_jsonl, write_jsonl
from minutes.serve.utterance_store import UtteranceTable
from minutes.text import clean_text, words

MEETING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def timing(utterance: dict[str, Any]) -> Literal["estimated", "real"]:
    """Whether an utterance's times are "real" (measured) or "estimated" from word counts.
    Meetings ingested before utterances carried `timing` say "real" only when transcribed from
    audio: a transcript upload may have had estimated times, and an estimate must not pass for
    a measurement."""
    return utterance.get("timing") or ("real" if utterance.get("source") == "asr" else "estimated")


class Corpus:
    """Utterances by meeting, safe to read while an ingest adds a meeting.

    The ETL's meetings are a mapped UtteranceTable (read-only); ingested and renamed meetings
    live in a small overlay of dicts that shadows it (copy-on-write: readers never see a half
    state)."""

    def __init__(self, ingested_dir: Path, base: UtteranceTable | None = None) -> None:
        self.ingested_dir = ingested_dir
        self._base = base
        self._overlay: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, etl_dir: Path, ingested_dir: Path, cache_dir: Path | None = None) -> "Corpus":
        """The ETL's utterances (mapped from an Arrow copy in `cache_dir`, by default beside
        `ingested_dir`) plus every meeting ingested before."""
        path = etl_dir / schema.UTTERANCES
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no utterances; run notebook 10_etl first")
        base = UtteranceTable.open(path, cache_dir or Path(ingested_dir).parent / "corpus")
        corpus = cls(ingested_dir, base)
        overlay = {}
        for f in sorted(ingested_dir.glob("*.jsonl")) if ingested_dir.is_dir() else []:
            rows = read_jsonl(f)
            if rows:
                overlay[rows[0]["meeting_id"]] = sorted(rows, key=lambda u: u["idx"])
        corpus._overlay = overlay
        return corpus

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._overlay or (self._base is not None and meeting_id in self._base)

    def __len__(self) -> int:
        return len(self._ids())

    def _ids(self) -> set[str]:
        return set(self._overlay) | set(self._base.meeting_ids() if self._base is not None else [])

    def utterances(self, meeting_id: str) -> list[dict[str, Any]]:
        """A meeting's utterances in turn order (KeyError for an unknown meeting)."""
        rows = self._overlay.get(meeting_id)
        if rows is not None:
            return rows
        if self._base is None:
            raise KeyError(meeting_id)
        return self._base.rows(meeting_id)

    def span(self, meeting_id: str, first: int, last: int) -> list[dict[str, Any]]:
        """The utterances with first <= idx <= last of a meeting ([] for an unknown one)."""
        rows = self._overlay.get(meeting_id)
        if rows is not None:
            return [u for u in rows if first <= u["idx"] <= last]
        return self._base.span(meeting_id, first, last) if self._base is not None else []

    def ingested_ids(self) -> list[str]:
        return sorted(p.stem for p in self.ingested_dir.glob("*.jsonl")) if self.ingested_dir.is_dir() else []

    def add(self, meeting_id: str, utterances: Iterable[dict[str, Any]]) -> None:
        """Persist (atomically) and publish a new meeting's utterances."""
        rows = list(utterances)
        write_jsonl(self.ingested_dir / f"{meeting_id}.jsonl", rows)
        with self._lock:
            self._overlay = {**self._overlay, meeting_id: rows}

    def rename(self, meeting_id: str, mapping: dict[str, str]) -> None:
        """Publish a meeting's utterances with speakers renamed (in memory: the renames are
        stored by minutes.serve.speaker_names and applied again at every load)."""
        from minutes.serve.speaker_names import apply

        with self._lock:
            self._overlay = {**self._overlay, meeting_id: apply(self.utterances(meeting_id), [mapping])}

    def remove(self, meeting_id: str) -> None:
        """Undo `add` (an index update failed after the transcript was stored)."""
        (self.ingested_dir / f"{meeting_id}.jsonl").unlink(missing_ok=True)
        with self._lock:
            self._overlay = {m: us for m, us in self._overlay.items() if m != meeting_id}

    def meetings(self) -> list[dict[str, Any]]:
        ingested = set(self.ingested_ids())
        return [self._row(mid, mid in ingested) for mid in sorted(self._ids())]

    def meeting(self, meeting_id: str) -> dict[str, Any]:
        """One meeting's row of `meetings()`."""
        return self._row(meeting_id, (self.ingested_dir / f"{meeting_id}.jsonl").is_file())

    def _row(self, mid: str, ingested: bool) -> dict[str, Any]:
        us = self._overlay.get(mid)
        if us is None and self._base is not None:
            info = self._base.info(mid)
        else:
            if us is None:
                raise KeyError(mid)
            info = {"domain": us[0].get("domain", "Other"), "split": us[0].get("split", ""),
                    "n_utterances": len(us), "duration_s": round(max(u["end"] for u in us), 1),
                    "speakers": sorted({u["speaker"] for u in us}), "source": us[0].get("source", "manual")}
        return {"meeting_id": mid, **info, "source": "ingested" if ingested else info["source"]}

    def source(self, utt: dict[str, Any]) -> dict[str, Any]:
        """An utterance found by attribution (minutes.answer.attribution.hit_utterances) as a Source."""
        return {"meeting_id": utt["meeting_id"], "chunk_id": utt["chunk_id"], "speaker": utt["speaker"],
                "start": float(utt["start"]), "end": float(utt["end"]), "timing": timing(utt),
                "text": clean_text(utt["text"]), "score": float(utt.get("score", 0.0))}

    def cite_quote(self, hit: dict[str, Any], quote: Any, answer: str) -> dict[str, Any]:
        """The turn an extractive answer quoted from `hit` (minutes.answer.extractive.Quote),
        read alone; `cite` when the quote has no turn index or that turn is not the quoted text
        (a chunk whose lines only seemed to be its turns)."""
        if quote.idx is not None:
            turn = self.span(hit["meeting_id"], quote.idx, quote.idx)
            if turn and clean_text(turn[0]["text"]) == quote.text:
                return self.source({**turn[0], "meeting_id": hit["meeting_id"], "chunk_id": hit["chunk_id"],
                                    "score": float(hit["score"])})
        return self.cite(hit, answer)

    def cite(self, hit: dict[str, Any], answer: str) -> dict[str, Any]:
        """The utterance of a retrieved chunk that shares most words with the answer."""
        span = self.span(hit["meeting_id"], int(hit["utt_start"]), int(hit["utt_end"]))
        answer_words = set(words(answer))
        best = max(span, key=lambda u: len(answer_words & set(words(u["text"]))), default=None)
        if best is None:  # chunk of a meeting the corpus does not hold: cite the chunk itself
            speakers = hit.get("speakers") or []
            return {"meeting_id": hit["meeting_id"], "chunk_id": hit["chunk_id"],
                    "speaker": ", ".join(speakers), "start": float(hit["start"]), "end": float(hit["end"]),
                    "timing": timing(hit), "text": clean_text(hit["text"]), "score": float(hit["score"])}
        return {"meeting_id": hit["meeting_id"], "chunk_id": hit["chunk_id"], "speaker": best["speaker"],
                "start": float(best["start"]), "end": float(best["end"]), "timing": timing(best),
                "text": clean_text(best["text"]), "score": float(hit["score"])}
