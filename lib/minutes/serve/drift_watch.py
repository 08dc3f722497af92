"""The service's drift monitor (minutes.online.drift), wired to its index, embedder and gauges.

The reference is the training questions (monitor.drift.reference_split of notebook 10's
queries.jsonl, outside monitor.held_back_domain), a stable sample of `reference_size`; questions
are embedded by the service's own query encoder (the index's model), and the retrieval
confidence of a question is its best cosine against the live index's chunk vectors (whatever
method answers the request, so meeting-scoped and corpus-wide requests are compared alike).
"""
from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from minutes.online.drift import DriftMonitor, WindowResult

if TYPE_CHECKING:
    from minutes.config import Params
    from minutes.serve.metrics import Metrics

log = logging.getLogger(__name__)


def reference_questions(params: "Params") -> list[str]:
    from minutes import schema
    from minutes.io import read_jsonl

    path = params.stage_dir("etl") / schema.QUERIES
    if not path.is_file():
        return []
    d = params.monitor.drift
    rows = [q for q in read_jsonl(path)
            if q["split"] == d.reference_split and q["domain"] != params.monitor.held_back_domain]
    rows.sort(key=lambda q: hashlib.sha1(q["query_id"].encode()).hexdigest())
    return [q["query"] for q in rows[: d.reference_size]]


def publish(metrics: "Metrics", result: WindowResult) -> None:
    for name, test in (("mmd", result.mmd), ("top1_ks", result.confidence)):
        metrics.drift_statistic.labels(name).set(test.statistic)
        metrics.drift_p_value.labels(name).set(test.p_value)
        metrics.drift_alarm.labels(name).set(1.0 if test.alarm else 0.0)
    metrics.drift_tests.inc()


def drift_monitor(params: "Params", retriever: Any, metrics: "Metrics") -> DriftMonitor | None:
    """The monitor, or None (drift disabled, or no training questions to compare with)."""
    d = params.monitor.drift
    if not d.enabled:
        return None
    questions = reference_questions(params)
    if len(questions) < 2:
        log.warning("drift monitor off: fewer than 2 %s questions in the ETL queries", d.reference_split)
        return None

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(retriever.encode_queries(texts), dtype=np.float32)

    def top1(vecs: np.ndarray) -> np.ndarray:
        return (np.asarray(retriever.vectors(), dtype=np.float32) @ vecs.T).max(0)

    return DriftMonitor(embed, top1, questions, d.window, d.every, d.permutations, d.alpha, d.seed,
                        lambda r: publish(metrics, r))
