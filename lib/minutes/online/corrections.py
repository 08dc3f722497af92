"""Users' corrections as a training dataset: what an answer should have said, by question.

`export_corrections` reads the answer log (the newest correction per /ask answer) and writes
`<work_dir>/online/corrections.jsonl` atomically with a manifest (`corrections.json`: rows, the
file's sha256 and a version named by it). 30_train's pair builder adds them to the training
pairs when the file is there (`correction_queries`), and the file's hash is one of the training
stage's inputs, so new corrections retrain and unchanged ones reuse the cached study.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from minutes.cache import hash_file
from minutes.io import read_json, read_jsonl, write_json, write_jsonl

FILE = "corrections.jsonl"
MANIFEST = "corrections.json"
FIELDS = ("answer_id", "question", "meeting_id", "retrieved", "correction", "model_version", "created")


def corrections_path(params: Any) -> Path:
    return params.stage_dir("online") / FILE


def manifest(params: Any) -> dict[str, Any] | None:
    """The current dataset version (rows, sha256, version, created), or None before any export."""
    path = params.stage_dir("online") / MANIFEST
    return read_json(path) if path.is_file() else None


def export_corrections(params: Any, answer_log: Any = None) -> dict[str, Any]:
    """Write every correction in the answer log as the new dataset version; returns its manifest.

    An export that finds the same corrections writes the same bytes: the version does not change.
    """
    from minutes.online.answer_log import open_answer_log

    log = answer_log or open_answer_log(params)
    try:
        rows = [{k: r.get(k) for k in FIELDS} for r in log.corrections()]
    finally:
        if answer_log is None:
            log.close()
    path = corrections_path(params)
    write_jsonl(path, rows)
    digest = hash_file(path)
    old = manifest(params)
    if old is not None and old.get("sha256") == digest:
        return old
    record = {"version": digest[:12], "sha256": digest, "rows": len(rows), "file": FILE,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_json(params.stage_dir("online") / MANIFEST, record)
    return record


def correction_queries(path: Path, chunks_by_meeting: Mapping[str, Sequence[Mapping[str, Any]]],
                       limit: int) -> list[dict[str, Any]]:
    """The newest `limit` corrections as train queries (kind "specific", no gold span: the pair
    builder retrieves their context as at inference). A correction whose meeting is unknown takes
    the meeting of the first chunk the answer retrieved; one with neither is left out."""
    if limit <= 0 or not Path(path).is_file():
        return []
    meeting_of = {str(c["chunk_id"]): m for m, cs in chunks_by_meeting.items() for c in cs}
    out = []
    for row in reversed(read_jsonl(path)):
        meeting = row.get("meeting_id") or next((meeting_of[c] for c in row.get("retrieved") or []
                                                 if c in meeting_of), None)
        text = " ".join(str(row.get("correction") or "").split())
        if not meeting or meeting not in chunks_by_meeting or not text or not row.get("question"):
            continue
        out.append({"query_id": f"correction/{row['answer_id']}", "meeting_id": meeting, "query": row["question"],
                    "answer": text, "kind": "specific", "spans": [], "split": "train", "domain": None})
        if len(out) >= limit:
            break
    return list(reversed(out))
