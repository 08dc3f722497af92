"""ROUGE through the `evaluate` library, with the metric module this project ships.

`evaluate.load` copies a metric script into HF_HOME's module cache, so HF_HOME is pointed into
the work dir first (notebooks do this in minutes.notebook.configure_environment; `load_rouge`
does it when it has params). Scores are reported in points (F-measure x 100), as papers do.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

METRIC_DIR = Path(__file__).resolve().parent / "metrics" / "rouge"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def load_rouge(hf_home: Path | None = None) -> Any:
    """The shipped ROUGE metric as an `evaluate.EvaluationModule` (never touches the hub)."""
    if hf_home is not None:
        os.environ.setdefault("HF_HOME", str(hf_home))
    import evaluate  # the library: this package has no module of that name

    return evaluate.load(str(METRIC_DIR))


def per_example(metric: Any, predictions: Sequence[str], references: Sequence[str]) -> dict[str, list[float]]:
    """ROUGE-1/2/L/Lsum per example, in points."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        return {t: [] for t in ROUGE_TYPES}
    raw = metric.compute(predictions=list(predictions), references=list(references),
                         rouge_types=list(ROUGE_TYPES), use_aggregator=False)
    return {t: [100.0 * v for v in raw[t]] for t in ROUGE_TYPES}
