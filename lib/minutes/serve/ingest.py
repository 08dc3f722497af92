"""New meetings into the live service: transcribe (audio) or parse (transcript), chunk with the
ETL's chunker, embed and add to the index without a restart.

The index swap itself is atomic (Retriever.add_chunks); ingests are serialised by a lock so two
at once cannot both read the old index and lose one meeting. Transcription and chunking happen
outside the lock, so a long recording does not block a short transcript.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SpeakerOptions:
    """How an ingested recording gets its speakers (the form fields of /ingest)."""

    diarize: bool
    num_speakers: int | None = None
    #: names for "Speaker 1", "Speaker 2", ... in order of first appearance
    names: tuple[str, ...] = ()

    @classmethod
    def from_form(cls, state: "ServiceState", fields: dict[str, str]) -> "SpeakerOptions":
        from minutes.asr.turns import speaker_name
        from minutes.serve.speaker_names import check_mapping

        flag = fields.get("speakers", "").strip().lower()
        if flag not in ("", "true", "false", "1", "0", "yes", "no"):
            raise ApiError(422, f"speakers must be true or false, got {flag[:20]!r}")
        raw_n = fields.get("num_speakers", "").strip()
        if raw_n and not (raw_n.isdigit() and 1 <= int(raw_n) <= 32):
            raise ApiError(422, f"num_speakers must be between 1 and 32, got {raw_n[:20]!r}")
        names = tuple(n.strip() for n in fields.get("speaker_names", "").split(",") if n.strip())
        placeholders = [speaker_name(i + 1) for i in range(len(names))]
        if names:
            check_mapping(dict(zip(placeholders, names)), placeholders)  # the same rule as a rename
        diarize = (flag in ("true", "1", "yes") or (not flag and state.params.serve.ingest_speakers)
                   or bool(raw_n) or bool(names))
        return cls(diarize, int(raw_n) if raw_n else None, names)

    def label(self, segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from minutes.asr.turns import speaker_name

        mapping = {speaker_name(i + 1): n for i, n in enumerate(self.names)}
        return [dict(s, speaker=mapping.get(s.get("speaker", ""), s.get("speaker"))) for s in segments]


def ingest_file(state: "ServiceState", meeting_id: str, path: Path,
                speakers: SpeakerOptions | None = None) -> dict[str, Any]:
    """Ingest one saved upload (audio or transcript) as meeting `meeting_id`."""
    t0 = time.perf_counter()
    suffix = path.suffix.lower()
    if suffix in TRANSCRIPT_SUFFIXES:
        utts = to_utterances(meeting_id, parse_transcript(path.read_bytes(), path.name), "manual")
    elif suffix in AUDIO_SUFFIXES:
        opts = speakers or SpeakerOptions(state.params.serve.ingest_speakers)
        utts = to_utterances(meeting_id, opts.label(transcribe(state, path, opts.diarize, opts.num_speakers)), "asr")
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


def rename_speakers(state: "ServiceState", meeting_id: str, names: dict[str, str]) -> dict[str, Any]:
    """Rename speakers of a meeting in the live corpus and index (no re-embedding), durably."""
    from minutes.serve.speaker_names import check_mapping

    with state.ingest_lock:
        if meeting_id not in state.corpus:
            raise ApiError(404, f"meeting {meeting_id!r} is not known (see GET /meetings)")
        mapping = check_mapping(names, (u["speaker"] for u in state.corpus.utterances(meeting_id)))
        version = state.retriever.version
        if mapping:
            state.speaker_names.add(meeting_id, mapping)  # first, so a crash after it is redone at start
            try:
                version = state.retriever.rename_speakers(meeting_id, mapping)["version"]
            except Exception:
                state.speaker_names.drop_last(meeting_id)
                raise
            state.corpus.rename(meeting_id, mapping)
            state.minutes_cache.pop(meeting_id, None)
    return {**state.corpus.meeting(meeting_id), "renamed": mapping, "index_version": version}


def spool_dir(state: "ServiceState") -> Path:
    d = state.params.stage_dir("serve") / "uploads"
    d.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=d))
