"""Parameters of evaluation and promotion gates (40_evaluate)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class GateParams(Section):
    #: The candidate must beat the extractive baseline's val ROUGE-L by this margin (points).
    min_margin_over_extractive: float = 0.0
    #: ... and may fall at most this far below the promoted version's ROUGE-L (points).
    max_drop_vs_promoted: float = 0.5


class EvaluateParams(Section):
    split: Literal["val", "test"] = "val"
    max_queries: int | None = None
    worst_n: int = Field(5, ge=0)
    gates: GateParams = GateParams()
    alias: str = "staging"
