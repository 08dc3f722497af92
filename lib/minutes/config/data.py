"""Parameters of the ETL stage (10_etl): sources, speech synthesis, chunking, splits."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class QmsumSource(Section):
    """QMSum: a directory with train/ val/ (test/) folders of per-meeting JSON files."""

    path: Path
    splits: list[str] = ["train", "val"]
    max_meetings_per_split: int | None = Field(None, ge=1, description="slice for small profiles")


class SynthSource(Section):
    """Meetings rendered to audio with espeak-ng (local/ci): real audio with a known transcript."""

    enabled: bool = True
    meetings: int = Field(2, ge=0)
    max_turns: int = Field(20, ge=1)
    words_per_minute: int = Field(170, ge=80, le=400)


class FolderSource(Section):
    """A folder of a user's own recordings (wav/mp3/ogg/m4a/mp4)."""

    path: Path | None = None


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


class DataParams(Section):
    qmsum: QmsumSource
    synth: SynthSource = SynthSource()
    folder: FolderSource = FolderSource()
    ami: AmiSource = AmiSource()
    chunks: ChunkParams = ChunkParams()
    strict: bool = False
    seed: int = 13
    source_kind: Literal["qmsum"] = "qmsum"
