"""/ask request bodies made of the ETL's real questions (load test, demo)."""
from __future__ import annotations

from typing import Any

from minutes import schema
from minutes.config import Params
from minutes.io import read_jsonl


def load_payloads(params: Params, n: int = 200, within_meeting: bool = True) -> list[dict[str, Any]]:
    """/ask bodies from real questions, each question text once (the service remembers question
    vectors, so a repeated text would measure the cache): the evaluation split's first,
    specific ones before general, then the other splits' when `n` asks for more."""
    rows = read_jsonl(params.stage_dir("etl") / schema.QUERIES)
    if not rows:
        raise ValueError(f"{schema.QUERIES}: no queries; run notebook 10_etl for profile {params.profile!r}")
    split = params.evaluate.split
    rows = sorted(rows, key=lambda r: (r.get("split") != split, r["kind"] != "specific", r["query_id"]))
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["query"] not in seen and len(out) < n:
            seen.add(r["query"])
            out.append({"question": r["query"], "meeting_id": r["meeting_id"] if within_meeting else None})
    return out
