"""New meetings into the live service: transcribe (audio) or parse (transcript), chunk with the
ETL's chunker, embed and add to the index without a restart.

The index swap itself is atomic (Retriever.add_chunks); ingests are serialised by a lock so two
at once cannot both read the old index and lose one meeting. Transcription and chunking happen
outside the lock, so a long recording does not block a short transcript.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minutes.serve.corpus import MEETING_ID
from minutes.serve.errors import ApiError, without_dir
from minutes.serve.transcripts import parse_transcript
from minutes.serve.uploads import AUDIO_SUFFIXES, TRANSCRIPT_SUFFIXES, probe_audio
from minutes.text import clean_text

if TYPE_CHECKING:
    from minutes.serve.state import ServiceState


def check_meeting_id(state: "ServiceState", meeting_id: str | None) -> str:
    if not meeting_id or not MEETING_ID.fullmatch(meeting_id):
        raise ApiError(422, f"meeting_id {meeting_id!r} must be 1-64 characters of [A-Za-z0-9_.-], "
                            "starting with a letter or digit")
    if meeting_id in state.corpus:
        raise ApiError(409, f"meeting_id {meeting_id!r} already exists")
    return meeting_id


def transcribe(state: "ServiceState", audio: Path, speakers: bool = False,
               num_speakers: int | None = None) -> list[dict[str, Any]]:
    """ASR segments (start, end, text, timing "real") of a decodable audio file; with `speakers`,
    each also has its diarized speaker ("Speaker 1..n", minutes.asr.diarize)."""
    probe_audio(audio)
    from minutes.asr import transcribe_file

    with state.asr_lock:  # one Whisper decode at a time: it already uses every core
        try:
            segments = transcribe_file(audio, state.params)
            if speakers:
                from minutes.asr.diarize import diarize_file, label_segments

                segments = label_segments(segments, diarize_file(audio, state.params.asr.diarization, num_speakers))
        except (RuntimeError, ValueError, OSError) as exc:
            raise ApiError(422, f"{audio.name}: could not be transcribed "
                                f"({without_dir(str(exc), audio.parent)})") from exc
    return [{**s, "timing": "real"} for s in segments]


def to_utterances(meeting_id: str, rows: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Schema utterances (schema.Utterance) from parsed turns or ASR segments, their text cleaned
    by ETL's rule (minutes.text.clean_text); a turn left empty is dropped and the rest numbered
    in order, as ETL does for transcribed audio (no spans refer to an ingested meeting's turns)."""
    kept = [(r, text) for r in rows if (text := clean_text(str(r.get("text", ""))))]
    return [{"meeting_id": meeting_id, "idx": i, "speaker": str(r.get("speaker") or "Speaker"),
             "start": round(float(r["start"]), 3), "end": round(float(r["end"]), 3), "text": text,
             "source": source, "timing": r["timing"], "domain": "Other", "split": "ingested"}
            for i, (r, text) in enumerate(kept)]


def ingest_file(state: "ServiceState", meeting_id: str, path: Path) -> dict[str, Any]:
    """Ingest one saved upload (audio or transcript) as meeting `meeting_id`."""
    t0 = time.perf_counter()
    suffix = path.suffix.lower()
    if suffix in TRANSCRIPT_SUFFIXES:
        utts = to_utterances(meeting_id, parse_transcript(path.read_bytes(), path.name), "manual")
    elif suffix in AUDIO_SUFFIXES:
        utts = to_utterances(meeting_id, transcribe(state, path), "asr")
    else:
        raise ApiError(415, f"{path.name}: expected audio ({', '.join(sorted(AUDIO_SUFFIXES))}) "
                            f"or a transcript ({', '.join(sorted(TRANSCRIPT_SUFFIXES))})")
    if not utts:
        raise ApiError(422, f"{path.name}: nothing was said (no utterances)")
    return add_meeting(state, meeting_id, utts, t0)


def add_meeting(state: "ServiceState", meeting_id: str, utts: list[dict[str, Any]], t0: float | None = None) -> dict[str, Any]:
    from minutes.data.chunking import chunk_meeting

    t0 = time.perf_counter() if t0 is None else t0
    chunks = chunk_meeting(utts, state.tokenizer(), state.params.data.chunks)
    with state.ingest_lock:
        if meeting_id in state.corpus:  # checked again: another ingest may have taken the id meanwhile
            raise ApiError(409, f"meeting_id {meeting_id!r} already exists")
        state.corpus.add(meeting_id, utts)
        try:
            state.retriever.add_chunks(chunks)
        except Exception:
            state.corpus.remove(meeting_id)
            raise
        state.refresh_gauges()
    state.metrics.ingests.inc()
    return {"meeting_id": meeting_id, "utterances": len(utts), "chunks": len(chunks),
            "index_chunks": state.index_size(), "seconds": round(time.perf_counter() - t0, 3)}


def spool_dir(state: "ServiceState") -> Path:
    d = state.params.stage_dir("serve") / "uploads"
    d.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=d))
