"""When the online loop retrains, and how users' corrections join the training pairs
(minutes.online.retrain, minutes.online.corrections)."""
from __future__ import annotations

from pydantic import Field, model_validator

from minutes.config.base import Section


class RetrainParams(Section):
    #: Retrain when the share of "down" ratings reaches this, over at least `min_feedback` ratings
    #: given in the last `window_s` seconds (0: all ratings ever given).
    max_negative_ratio: float = Field(0.5, gt=0, le=1)
    min_feedback: int = Field(20, ge=1)
    window_s: float = Field(3600.0, ge=0)
    #: Notebooks the retraining run executes through minutes.pipeline (30_train -> 40_evaluate).
    from_stage: int = Field(30, ge=0, le=99)
    to_stage: int = Field(40, ge=0, le=99)
    #: Corrections (the newest first) added to the training pairs; 0 keeps them out.
    max_correction_pairs: int = Field(64, ge=0)
    #: Redo the stages even when their inputs did not change (a drift alarm with no new data
    #: otherwise reloads the cached study: the same model).
    force: bool = False
    #: Notebook 70 acts on its trigger (exports the corrections, runs the stages) instead of only
    #: showing the decision: a retraining run takes about 15 minutes on local.
    act: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> "RetrainParams":
        if self.from_stage > self.to_stage:
            raise ValueError(f"from_stage {self.from_stage} is after to_stage {self.to_stage}")
        return self
