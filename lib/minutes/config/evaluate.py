"""Parameters of evaluation and promotion gates (40_evaluate)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from minutes.config.base import Section


class GateParams(Section):
    #: The candidate must beat the extractive baseline's val ROUGE-L by this margin (points).
    min_margin_over_extractive: float = 0.0
    #: ... and may fall at most this far below the promoted version's ROUGE-L (points).
    max_drop_vs_promoted: float = Field(0.5, ge=0)
    #: Which ROUGE figure the gates compare ("rougeLsum" is the QMSum papers' R-L).
    metric: Literal["rouge1", "rouge2", "rougeL", "rougeLsum"] = "rougeLsum"


class EvaluateParams(Section):
    #: Which split to score; "test" needs the test data in the ETL products.
    split: Literal["val", "test"] = "val"
    #: Cap on scored queries (a stable, hash-ordered sample): generation on CPU is slow.
    max_queries: int | None = Field(None, ge=1)
    worst_n: int = Field(5, ge=0)
    gates: GateParams = GateParams()
    #: Registry alias the gates move (promotion to "production" is a separate, explicit step).
    alias: str = "staging"
    #: Retrieval for every system (same hits for the baseline and the generators); None uses
    #: train.retrieval_method, so generators are scored on the context they were trained with.
    retrieval_method: Literal["dense", "bm25", "hybrid"] | None = None
    #: Chunks retrieved per query; None uses train.retrieved_chunks (what the generator saw).
    k: int | None = Field(None, ge=1)
    #: Restrict retrieval to the query's meeting (QMSum questions are about one meeting).
    within_meeting: bool = True
    batch_size: int = Field(8, ge=1)
    #: New tokens per generated answer; None: the service's (serve.answer_tokens for questions,
    #: serve.minutes_tokens for whole-meeting summaries), so the gate judges what is served.
    max_new_tokens: int | None = Field(None, ge=1)
    #: Also score the version holding `alias` when it differs from the latest version.
    include_promoted: bool = True
    #: Extractive answer length per query kind ("general", "specific"); a kind left out takes
    #: the median train answer length.
    extractive_words: dict[Literal["general", "specific"], int] = {}
    #: Explicit step: after the gates, also point `production` at the version holding `alias`.
    promote_to_production: bool = False
    production_alias: str = "production"
    #: MLflow experiment holding one run per evaluation (decision, numbers, reason, plots).
    mlflow_experiment: str = "evaluate"
