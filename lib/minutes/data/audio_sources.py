"""Audio sources (synthesized meetings, a folder of recordings, AMI) -> ASR utterances + WER."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minutes.config import Params
from minutes.data.problems import ProblemLog
from minutes.data.qmsum import SourceMeeting


@dataclass
class AudioResult:
    meetings: list[SourceMeeting] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def audio_meetings(params: Params, sources: list[SourceMeeting], problems: ProblemLog, stage_dir: Path,
                   progress: bool = True) -> AudioResult:
    return AudioResult()
