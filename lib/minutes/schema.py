"""The records that flow between stages, and the file names they live in.

ETL (10) writes utterances, queries, splits and chunks into <work_dir>/etl/; the index (20)
reads chunks; training (30) reads queries + chunks through the retriever; evaluation (40) and the
service (50) read all of them. Keeping the shapes in one module keeps the stages honest.
"""
from __future__ import annotations

from typing import Literal, TypedDict

# File names inside <work_dir>/etl/
UTTERANCES = "utterances.jsonl"
QUERIES = "queries.jsonl"
SPLITS = "splits.json"
CHUNKS = "chunks.parquet"
MEETINGS = "meetings.jsonl"
VALIDATION = "validation.json"  # the validation report (counts, problems, checks)
ASR_WER = "asr_wer.json"  # WER of ASR against reference transcripts, per meeting and overall
DIARIZATION = "diarization.json"  # DER and cpWER of the ETL's diarization, per recording with known turns
TRANSCRIPTS = "transcripts"  # folder: one JSON of ASR segments per recording

Split = Literal["train", "val", "test"]
Domain = Literal["Product", "Academic", "Committee", "Other"]


class Utterance(TypedDict):
    """One speaker turn. `start`/`end` are seconds from the meeting start. For QMSum (which
    has no timings) they are estimated from word counts at a speaking rate: `timing` tells.
    `text` is cleaned (see minutes.text.clean_text) and may be "" for a turn that held only
    annotation tags: such turns are kept so `idx` matches QMSum's turn spans."""

    meeting_id: str
    idx: int  # turn index in the meeting, 0-based; QMSum spans refer to it
    speaker: str
    start: float
    end: float
    text: str
    source: Literal["manual", "asr"]  # a human transcript, or speech-to-text output
    timing: Literal["estimated", "real"]  # "estimated": from word counts (QMSum)
    domain: str
    split: str


class Meeting(TypedDict, total=False):
    """One line of meetings.jsonl: what a meeting is and where it came from."""

    meeting_id: str
    split: str
    domain: str
    source: Literal["qmsum", "synth", "folder", "ami"]
    timing: Literal["estimated", "real"]
    file: str
    derived_from: str  # for synthesized/transcribed meetings: the meeting they render
    n_utterances: int
    n_empty: int
    n_words: int
    duration_s: float
    speakers: list[str]
    topics: list[dict]  # QMSum topic_list: {topic, spans}


class Query(TypedDict):
    query_id: str  # f"{meeting_id}/{kind}/{n}"
    meeting_id: str
    query: str
    answer: str
    kind: Literal["general", "specific"]
    spans: list[list[int]]  # inclusive [start_idx, end_idx] turn spans; [] for general queries
    split: str
    domain: str


class Chunk(TypedDict):
    """A token window over whole utterances (columns of chunks.parquet)."""

    chunk_id: str  # f"{meeting_id}#{n:04d}"
    meeting_id: str
    split: str
    domain: str
    utt_start: int  # first utterance idx (inclusive)
    utt_end: int  # last utterance idx (inclusive)
    speakers: list[str]
    start: float
    end: float
    text: str  # "Speaker: text" lines, one per utterance
    n_tokens: int  # embedding-tokenizer tokens of `text` (no special tokens)
    source: str  # "manual" | "asr": where the utterances' text came from


class Hit(TypedDict):
    """A retrieved chunk: the chunk's fields plus its rank and score."""

    chunk_id: str
    meeting_id: str
    domain: str
    utt_start: int
    utt_end: int
    speakers: list[str]
    start: float
    end: float
    text: str
    score: float
    rank: int
