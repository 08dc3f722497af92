"""Validation report of the ETL products: schema, empty texts, duplicate ids, spans out of
bounds, split disjointness, per-domain counts and length statistics. The report is data (a dict
written to validation.json); the notebook shows it as tables and histograms."""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, get_type_hints

import numpy as np

from minutes.schema import Chunk, Query, Utterance

_PY_TYPES = {str: str, int: int, float: (int, float), list: list}


def _schema_errors(rows: Iterable[dict[str, Any]], typed: type, what: str, limit: int = 20) -> list[str]:
    """Missing fields and wrong types against a schema TypedDict."""
    hints = get_type_hints(typed)
    errors = []
    for n, row in enumerate(rows):
        for name, hint in hints.items():
            if name not in row:
                errors.append(f"{what}[{n}]: missing field {name!r}")
                continue
            origin = getattr(hint, "__origin__", hint)
            expected = _PY_TYPES.get(origin)
            if expected is not None and not isinstance(row[name], expected):
                errors.append(f"{what}[{n}]: field {name!r} is {type(row[name]).__name__}, expected {origin.__name__}")
        if len(errors) >= limit:
            break
    return errors[:limit]


def _duplicates(keys: Iterable[Any]) -> list[Any]:
    return [k for k, c in Counter(keys).items() if c > 1]


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    return {"n": int(a.size), "mean": round(float(a.mean()), 2), "p50": float(np.percentile(a, 50)),
            "p95": round(float(np.percentile(a, 95)), 2), "max": float(a.max())}


def validate(meetings: list[dict[str, Any]], utterances: list[dict[str, Any]], queries: list[dict[str, Any]],
             chunks: list[dict[str, Any]], splits: dict[str, list[str]], problems: list[dict[str, Any]]) -> dict[str, Any]:
    """Check the products against each other; `ok` is False when any hard check fails."""
    n_turns = {m["meeting_id"]: m["n_utterances"] for m in meetings}
    bad_spans = [f"{q['query_id']}: span {s} outside {n_turns.get(q['meeting_id'], 0)} turns"
                 for q in queries for s in q["spans"]
                 if not 0 <= s[0] <= s[1] < n_turns.get(q["meeting_id"], 0)]
    bad_chunks = [f"{c['chunk_id']}: utterances {c['utt_start']}..{c['utt_end']} outside {n_turns.get(c['meeting_id'], 0)}"
                  for c in chunks if not 0 <= c["utt_start"] <= c["utt_end"] < n_turns.get(c["meeting_id"], 0)]
    in_splits = Counter(mid for ids in splits.values() for mid in ids)
    checks = {
        "schema_utterances": _schema_errors(utterances, Utterance, "utterances"),
        "schema_queries": _schema_errors(queries, Query, "queries"),
        "schema_chunks": _schema_errors(chunks, Chunk, "chunks"),
        "duplicate_meeting_ids": _duplicates(m["meeting_id"] for m in meetings),
        "duplicate_utterance_ids": [f"{m}/{i}" for m, i in _duplicates((u["meeting_id"], u["idx"]) for u in utterances)],
        "duplicate_query_ids": _duplicates(q["query_id"] for q in queries),
        "duplicate_chunk_ids": _duplicates(c["chunk_id"] for c in chunks),
        "spans_out_of_bounds": bad_spans[:50],
        "chunk_ranges_out_of_bounds": bad_chunks[:50],
        "meetings_in_two_splits": [m for m, c in in_splits.items() if c > 1],
        "meetings_missing_from_splits": [m["meeting_id"] for m in meetings if m["meeting_id"] not in in_splits],
        "empty_chunks": [c["chunk_id"] for c in chunks if not c["text"].strip()][:50],
    }
    per_domain: dict[str, dict[str, int]] = {}
    for what, rows in (("meetings", meetings), ("utterances", utterances), ("queries", queries), ("chunks", chunks)):
        for r in rows:
            d = per_domain.setdefault(r["domain"], {"meetings": 0, "utterances": 0, "empty_utterances": 0,
                                                    "queries": 0, "chunks": 0})
            d[what] += 1
            if what == "utterances" and not r["text"]:
                d["empty_utterances"] += 1
    per_split = {s: {"meetings": len(ids)} for s, ids in splits.items()}
    split_of = {m["meeting_id"]: m["split"] for m in meetings}
    for q in queries:
        per_split.setdefault(split_of.get(q["meeting_id"], "?"), {}).setdefault("queries", 0)
        per_split[split_of.get(q["meeting_id"], "?")]["queries"] += 1
    return {
        "ok": not any(checks.values()),
        "checks": checks,
        "failed_checks": sorted(k for k, v in checks.items() if v),
        "counts": {"meetings": len(meetings), "utterances": len(utterances), "queries": len(queries),
                   "chunks": len(chunks), "empty_utterances": sum(1 for u in utterances if not u["text"]),
                   "problems": len(problems)},
        "per_domain": per_domain,
        "per_split": per_split,
        "lengths": {
            "utterance_words": _stats([len(u["text"].split()) for u in utterances if u["text"]]),
            "chunk_tokens": _stats([c["n_tokens"] for c in chunks]),
            "meeting_utterances": _stats([m["n_utterances"] for m in meetings]),
        },
        "problems": problems,
    }
