"""Which transcript chunks a prompt shows when retrieval is not the right tool.

Minutes ("summarize the whole meeting") need coverage, not similarity: the chunks are spread
evenly over the meeting. Training, evaluation and the service share this choice.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from minutes.schema import Hit

HIT_FIELDS = ("chunk_id", "meeting_id", "domain", "utt_start", "utt_end", "speakers", "start", "end", "text")


def chunk_to_hit(chunk: Mapping[str, Any], rank: int = 0, score: float = 0.0) -> Hit:
    """A chunk record (a row of chunks.parquet) as a `Hit`."""
    missing = [f for f in ("chunk_id", "meeting_id", "text") if f not in chunk]
    if missing:
        raise ValueError(f"chunk record lacks {missing}: {dict(chunk)!r:.200}")
    hit: dict[str, Any] = {f: chunk.get(f) for f in HIT_FIELDS}
    hit["speakers"] = list(hit["speakers"] if hit["speakers"] is not None else [])
    hit["start"] = float(hit["start"] or 0.0)
    hit["end"] = float(hit["end"] or 0.0)
    hit["utt_start"] = int(hit["utt_start"] or 0)
    hit["utt_end"] = int(hit["utt_end"] or 0)
    hit["domain"] = hit["domain"] or "Other"
    hit.update(score=float(score), rank=int(rank))
    return hit  # type: ignore[return-value]


def overview_hits(meeting_chunks: Iterable[Mapping[str, Any]], n: int) -> list[Hit]:
    """`n` chunks spread evenly from the meeting's start to its end, in meeting order."""
    chunks = sorted(meeting_chunks, key=lambda c: (int(c.get("utt_start") or 0), str(c["chunk_id"])))
    if n <= 0 or not chunks:
        return []
    if len(chunks) <= n:
        picked = chunks
    else:
        step = (len(chunks) - 1) / (n - 1) if n > 1 else 0
        picked = [chunks[round(i * step)] for i in range(n)] if n > 1 else [chunks[len(chunks) // 2]]
    return [chunk_to_hit(c, rank=i) for i, c in enumerate(picked)]
