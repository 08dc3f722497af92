"""Parameters of the ETL stage (10_etl): sources, speech synthesis, chunking, splits."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from minutes.config.base import Section
from minutes.text import MIN_TURN_SECONDS, TURN_GAP_SECONDS, WORDS_PER_MINUTE


class QmsumSource(Section):
    """QMSum: a directory with train/ val/ (test/) folders of per-meeting JSON files."""

    path: Path
    splits: list[str] = ["train", "val"]
    #: A deterministic slice for small profiles, taken round-robin over the domains so that a
    #: small slice still holds Product, Academic and Committee meetings.
    max_meetings_per_split: int | None = Field(None, ge=1, description="slice for small profiles")
    #: QMSum has no timings: turn times are estimated from word counts at this speaking rate.
    words_per_minute: int = Field(WORDS_PER_MINUTE, ge=60, le=400)
    #: Shortest estimated turn (an empty or one-word turn still takes some time) and the pause
    #: between estimated turns, in seconds.
    min_turn_seconds: float = Field(MIN_TURN_SECONDS, ge=0)
    turn_gap_seconds: float = Field(TURN_GAP_SECONDS, ge=0)
    #: Where to fetch QMSum when its split folders are not under `path` (chameleon): a zip of
    #: the Yale-LILY/QMSum repository, whose data/ALL/<split>/ folders are unpacked into `path`.
    download_url: str | None = None


class SynthSource(Section):
    """Meetings rendered to audio with espeak-ng (local/ci): real audio with a known transcript."""

    enabled: bool = True
    #: How many meetings to render (the first ones of the train slice, one per domain in turn).
    meetings: int = Field(2, ge=0)
    #: Render only the first `max_turns` non-empty turns of each meeting.
    max_turns: int = Field(20, ge=1)
    words_per_minute: int = Field(170, ge=80, le=400)
    #: Silence between turns, in seconds.
    pause_seconds: float = Field(0.4, ge=0)
    #: Turns longer than this many words are cut (keeps the synthesized audio short).
    max_words_per_turn: int = Field(60, ge=1)


class FolderSource(Section):
    """A folder of a user's own recordings (wav/mp3/ogg/m4a/mp4/...)."""

    path: Path | None = None
    extensions: list[str] = [".wav", ".mp3", ".ogg", ".m4a", ".mp4", ".flac", ".webm", ".mkv"]


class AmiSource(Section):
    """AMI Mix-Headset audio and NXT annotations (chameleon profile downloads them)."""

    enabled: bool = False
    audio_url: str = "https://groups.inf.ed.ac.uk/ami/AMICorpusMirror/amicorpus/{meeting}/audio/{meeting}.Mix-Headset.wav"
    annotations_url: str = "https://groups.inf.ed.ac.uk/ami/AMICorpusAnnotations/ami_public_manual_1.6.2.zip"
    path: Path | None = None
    max_meetings: int | None = None


class ChunkParams(Section):
    """Token windows over utterances, counted with the embedding model's tokenizer."""

    target_tokens: int = Field(400, ge=16)
    max_tokens: int = Field(500, ge=16)
    overlap_tokens: int = Field(50, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> "ChunkParams":
        if self.target_tokens > self.max_tokens:
            raise ValueError(f"target_tokens ({self.target_tokens}) must not exceed max_tokens ({self.max_tokens})")
        if self.overlap_tokens >= self.target_tokens:
            raise ValueError(f"overlap_tokens ({self.overlap_tokens}) must be below target_tokens ({self.target_tokens})")
        return self


class DataParams(Section):
    qmsum: QmsumSource
    synth: SynthSource = SynthSource()
    folder: FolderSource = FolderSource()
    ami: AmiSource = AmiSource()
    chunks: ChunkParams = ChunkParams()
    #: Bad input (unreadable files, invalid JSON, out-of-bounds spans) is reported and skipped;
    #: with `strict` the stage fails after writing its report.
    strict: bool = False
    seed: int = 13
