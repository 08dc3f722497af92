"""Benchmark of the evaluation's own parts, on QMSum val straight from the JSON files (no stage
products needed): the extractive answerer fed the gold spans (an upper bound for retrieval-fed
extraction, beside QMSum's "HMNet + gold spans"), its speed, and the ROUGE metric's throughput
through `evaluate` versus calling rouge_score directly.

    python -m minutes.bench evaluation [--quick]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from minutes.config import load_params


def _gold_hits(meeting: dict[str, Any], mid: str, spans: list[list[str]]) -> list[dict[str, Any]]:
    turns = meeting["meeting_transcripts"]
    hits = []
    for n, (a, b) in enumerate(spans):
        lo, hi = int(a), min(int(b), len(turns) - 1)
        lines = [f"{t['speaker']}: {t['content']}" for t in turns[lo:hi + 1]]
        hits.append({"chunk_id": f"{mid}#gold{n}", "meeting_id": mid, "utt_start": lo, "utt_end": hi,
                     "text": "\n".join(lines)})
    return hits


def _cases(qmsum: Path, split: str, limit: int | None) -> tuple[list[dict[str, Any]], int]:
    """Specific val queries with their gold-span hits, and the median train answer length."""
    cases = []
    for path in sorted((qmsum / split).glob("*.json")):
        meeting = json.loads(path.read_text(encoding="utf-8"))
        for q in meeting.get("specific_query_list", []):
            cases.append({"query": q["query"], "answer": q["answer"],
                          "hits": _gold_hits(meeting, path.stem, q["relevant_text_span"])})
    lengths = [len(q["answer"].split()) for p in sorted((qmsum / "train").glob("*.json"))
               for q in json.loads(p.read_text(encoding="utf-8")).get("specific_query_list", [])]
    return cases[:limit] if limit else cases, int(statistics.median(lengths)) if lengths else 70


def run(args: argparse.Namespace) -> dict[str, Any]:
    from rouge_score import rouge_scorer

    from minutes.answer.extractive import extractive_answer
    from minutes.evaluate.scoring import ROUGE_TYPES, load_rouge, per_example
    from minutes.evaluate.sentences import one_sentence_per_line

    params = load_params("local")
    qmsum = params.data.qmsum.path
    cases, words = _cases(qmsum, "val", 40 if getattr(args, "quick", False) else None)
    t0 = time.perf_counter()
    answers = [extractive_answer(c["query"], c["hits"], words)[0] for c in cases]
    extract_ms = 1000 * (time.perf_counter() - t0) / max(len(cases), 1)
    refs = [c["answer"] for c in cases]

    rouge = load_rouge(params.work_dir / "cache" / "huggingface")
    t0 = time.perf_counter()
    scores = per_example(rouge, answers, refs)
    metric_s = time.perf_counter() - t0
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    t0 = time.perf_counter()
    for a, r in zip(answers, refs):
        scorer.score(one_sentence_per_line(r), one_sentence_per_line(a))
    direct_s = time.perf_counter() - t0
    mean = {t: round(sum(v) / len(v), 2) for t, v in scores.items()} if cases else {}
    return {
        "split": "val", "queries": len(cases), "extractive_words": words,
        "extractive_on_gold_spans": {"R-1": mean.get("rouge1"), "R-2": mean.get("rouge2"),
                                     "R-L (plain)": mean.get("rougeL"), "R-Lsum": mean.get("rougeLsum")},
        "published_hmnet_gold_spans_test": {"R-1": 36.1, "R-2": 11.4, "R-L": 31.3},
        "extractive_ms_per_query": round(extract_ms, 2),
        "rouge_pairs_per_s_evaluate": round(len(cases) / metric_s, 1) if metric_s else None,
        "rouge_pairs_per_s_direct": round(len(cases) / direct_s, 1) if direct_s else None,
    }
