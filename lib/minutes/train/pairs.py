"""Training pairs: (instruction + question + transcript excerpts) -> gold answer.

Specific queries get the chunks the retriever finds in the query's own meeting. For training
the chunks holding the gold span are always among them, cut to start where the span starts, so
the budget is spent on the evidence; val pairs see plain retrieval, as at inference. General
queries ("summarize the whole meeting") train the minutes task on chunks spread over the meeting.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, TypedDict

from minutes import schema
from minutes.generate.context import chunk_to_hit, overview_hits
from minutes.generate.prompts import build_prompt, truncate_to_tokens
from minutes.schema import Hit, Query

#: questions + their meeting ids -> hits per question (the index's retriever, or a test double)
Retrieve = Callable[[list[str], list[str], int], list[list[Hit]]]

QUERY_FIELDS = ("query_id", "meeting_id", "query", "answer", "kind", "spans", "split")


class Pair(TypedDict):
    query_id: str
    meeting_id: str
    split: str
    task: str  # "answer" | "minutes"
    source: str
    target: str
    chunk_ids: list[str]
    gold_chunk_ids: list[str]
    gold_in_source: bool  # some gold-span text survived truncation (always True for minutes)


# ---------------------------------------------------------------------------- loading ETL output
def load_queries(path: Path, splits: Iterable[str] | None = None) -> list[Query]:
    """queries.jsonl, validated: a missing field names the file, the line and the field."""
    from minutes.io import read_jsonl

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no queries (run notebook 10_etl first)")
    wanted = set(splits) if splits is not None else None
    out: list[Query] = []
    for n, row in enumerate(read_jsonl(path), 1):
        missing = [f for f in QUERY_FIELDS if f not in row]
        if missing:
            raise ValueError(f"{path}:{n}: query record lacks {missing}")
        if row["kind"] not in ("general", "specific"):
            raise ValueError(f"{path}:{n}: kind must be 'general' or 'specific', got {row['kind']!r}")
        if wanted is None or row["split"] in wanted:
            out.append(row)  # type: ignore[arg-type]
    return out


def load_utterance_lines(path: Path, meeting_ids: set[str]) -> dict[str, dict[int, dict[str, Any]]]:
    """meeting_id -> idx -> utterance, for the meetings asked for (to cut gold chunks to spans)."""
    import json

    out: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            u = json.loads(line)
            if u.get("meeting_id") in meeting_ids:
                out[u["meeting_id"]][int(u["idx"])] = u
    return dict(out)


# ------------------------------------------------------------------------------ gold evidence
def overlap(chunk: Mapping[str, Any], spans: Sequence[Sequence[int]]) -> int:
    """Number of utterances a chunk shares with the query's gold spans."""
    lo, hi = int(chunk["utt_start"]), int(chunk["utt_end"])
    return sum(max(0, min(hi, int(e)) - max(lo, int(s)) + 1) for s, e in spans)


def gold_chunks(meeting_chunks: Sequence[Mapping[str, Any]], spans: Sequence[Sequence[int]]) -> list[Mapping[str, Any]]:
    """Chunks overlapping the gold spans, most overlap first."""
    scored = [(overlap(c, spans), c) for c in meeting_chunks]
    return [c for n, c in sorted(scored, key=lambda t: (-t[0], int(t[1]["utt_start"]))) if n > 0]


def focus_on_span(hit: Hit, spans: Sequence[Sequence[int]],
                  utterances: Mapping[int, Mapping[str, Any]] | None) -> Hit:
    """The hit's text from the first gold utterance on (one line before, for context)."""
    if not utterances:
        return hit
    lo, hi = int(hit["utt_start"]), int(hit["utt_end"])
    starts = [max(lo, int(s)) for s, e in spans if int(s) <= hi and int(e) >= lo]
    if not starts or min(starts) <= lo:
        return hit
    first = max(lo, min(starts) - 1)
    rows = [utterances[i] for i in range(first, hi + 1) if i in utterances and str(utterances[i].get("text", "")).strip()]
    if not rows:
        return hit
    focused = dict(hit)
    focused["text"] = "\n".join(f"{u['speaker']}: {u['text']}" for u in rows)
    focused["utt_start"] = first
    focused["start"] = float(rows[0].get("start", hit["start"]))
    return focused  # type: ignore[return-value]


def _gold_survived(source: str, gold: Sequence[Hit]) -> bool:
    for h in gold:
        first_line = str(h["text"]).strip().splitlines()[0] if str(h["text"]).strip() else ""
        probe = " ".join(first_line.split()[:6])
        if probe and probe in source:
            return True
    return False


# ---------------------------------------------------------------------------------- pairs
def build_pairs(queries: Sequence[Query], chunks_by_meeting: Mapping[str, Sequence[Mapping[str, Any]]],
                retrieve: Retrieve, tokenizer: Any, max_source_tokens: int, max_target_tokens: int,
                k: int, ensure_gold: bool,
                utterances: Mapping[str, Mapping[int, Mapping[str, Any]]] | None = None) -> list[Pair]:
    """One pair per query whose meeting has chunks (queries of unknown meetings are skipped)."""
    usable = [q for q in queries if chunks_by_meeting.get(q["meeting_id"])]
    specific = [q for q in usable if q["kind"] == "specific"]
    hits_of: dict[str, list[Hit]] = {}
    if specific:
        found = retrieve([q["query"] for q in specific], [q["meeting_id"] for q in specific], k)
        if len(found) != len(specific):
            raise RuntimeError(f"retriever returned {len(found)} hit lists for {len(specific)} questions")
        hits_of = {q["query_id"]: list(h) for q, h in zip(specific, found)}
    pairs: list[Pair] = []
    for q in usable:
        meeting = chunks_by_meeting[q["meeting_id"]]
        target = truncate_to_tokens(tokenizer, " ".join(str(q["answer"]).split()), max_target_tokens)
        if q["kind"] == "general":
            hits = overview_hits(meeting, k)
            source = build_prompt(q["query"], hits, tokenizer, max_source_tokens, task="minutes")
            pairs.append(Pair(query_id=q["query_id"], meeting_id=q["meeting_id"], split=q["split"],
                              task="minutes", source=source, target=target,
                              chunk_ids=[h["chunk_id"] for h in hits], gold_chunk_ids=[], gold_in_source=True))
            continue
        hits = [h for h in hits_of.get(q["query_id"], []) if h["meeting_id"] == q["meeting_id"]][:k]
        golds = gold_chunks(meeting, q["spans"])
        gold_ids = [str(c["chunk_id"]) for c in golds]
        if ensure_gold and golds:
            gold_set = set(gold_ids[:k])
            chosen: dict[str, Hit] = {c["chunk_id"]: chunk_to_hit(c) for c in golds[:k]}
            for h in hits:
                if len(chosen) >= k:
                    break
                chosen.setdefault(h["chunk_id"], h)
            meeting_utts = (utterances or {}).get(q["meeting_id"])
            hits = [focus_on_span(h, q["spans"], meeting_utts) if h["chunk_id"] in gold_set else h
                    for h in chosen.values()]
            hits.sort(key=lambda h: int(h["utt_start"]))  # meeting order: no "gold comes first" cue
        source = build_prompt(q["query"], hits, tokenizer, max_source_tokens, task="answer")
        gold_hits = [h for h in hits if h["chunk_id"] in set(gold_ids)]
        pairs.append(Pair(query_id=q["query_id"], meeting_id=q["meeting_id"], split=q["split"], task="answer",
                          source=source, target=target, chunk_ids=[h["chunk_id"] for h in hits],
                          gold_chunk_ids=gold_ids, gold_in_source=_gold_survived(source, gold_hits)))
    return pairs


def group_chunks(chunks: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for c in chunks:
        out[str(c["meeting_id"])].append(c)
    return dict(out)


def _is_minutes(item: Mapping[str, Any]) -> bool:
    """A minutes pair (task) or a general query (kind): the two are the same thing."""
    return item.get("task", "minutes" if item.get("kind") == "general" else "answer") == "minutes"


def subsample(pairs: list[Any], n: int | None, seed: int) -> list[Any]:
    """A seeded sample of at most `n` pairs (or queries) that keeps the minutes/answer mix."""
    import random

    if n is None or len(pairs) <= n:
        return list(pairs)
    rng = random.Random(seed)
    minutes = [p for p in pairs if _is_minutes(p)]
    answers = [p for p in pairs if not _is_minutes(p)]
    n_min = min(len(minutes), max(1, round(n * len(minutes) / len(pairs)))) if minutes else 0
    picked = rng.sample(minutes, n_min) + rng.sample(answers, min(len(answers), n - n_min))
    rng.shuffle(picked)
    return picked


def etl_files(params: Any) -> dict[str, Path]:
    etl = params.stage_dir("etl")
    return {"queries": etl / schema.QUERIES, "chunks": etl / schema.CHUNKS, "utterances": etl / schema.UTTERANCES}
