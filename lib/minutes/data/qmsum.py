"""QMSum source: per-meeting JSON files in split folders -> meetings, utterances, queries.

Format (see ../shared/data/README.md): `meeting_transcripts` [{speaker, content}],
`general_query_list` [{query, answer}], `specific_query_list` [{query, answer,
relevant_text_span: [[start, end], ...]}] with inclusive turn indices as strings, `topic_list`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from minutes.config.data import QmsumSource
from minutes.data.domains import DOMAINS, domain_of
from minutes.data.problems import BadInput
from minutes.text import clean_text, estimate_times, word_count


@dataclass
class SourceMeeting:
    """One meeting as a source delivers it, before splitting and chunking."""

    meeting: dict[str, Any]
    utterances: list[dict[str, Any]]
    queries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)


def list_meetings(cfg: QmsumSource) -> tuple[dict[str, list[Path]], list[dict[str, Any]]]:
    """Meeting files per split (sliced), and problems for missing split folders."""
    found: dict[str, list[Path]] = {}
    problems = []
    if not cfg.path.is_dir():
        raise FileNotFoundError(f"data.qmsum.path: {cfg.path} is not a directory (QMSum with train/ val/ folders)")
    for split in cfg.splits:
        folder = cfg.path / split
        if not folder.is_dir():
            problems.append({"file": str(folder), "reason": f"split folder {split!r} not found; split left empty",
                             "kind": "missing-split", "stage": "etl"})
            found[split] = []
            continue
        files = sorted(folder.glob("*.json"))
        found[split] = stratified_slice(files, cfg.max_meetings_per_split)
    return found, problems


def stratified_slice(files: list[Path], limit: int | None) -> list[Path]:
    """The first `limit` meetings taken round-robin over domains (Product, Academic, Committee),
    each domain in file-name order: a small slice still covers every domain. Deterministic."""
    by_domain: dict[str, list[Path]] = {d: [] for d in DOMAINS}
    for f in files:
        by_domain.setdefault(domain_of(f.stem), []).append(f)
    ordered = [f for group in zip_longest(*by_domain.values()) for f in group if f is not None]
    return ordered if limit is None else ordered[:limit]


def _load_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(str(path), f"cannot read: {exc.strerror or exc}", "unreadable") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(str(path), f"not UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})", "not-utf8") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(str(path), f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                       "invalid-json") from exc


def _require(cond: bool, path: Path, reason: str) -> None:
    if not cond:
        raise BadInput(str(path), reason, "schema")


def _span(raw: Any, n_turns: int) -> list[int]:
    """One [start, end] inclusive span of turn indices, validated against the transcript."""
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise ValueError(f"span {raw!r} is not a [start, end] pair")
    try:
        start, end = int(raw[0]), int(raw[1])
    except (TypeError, ValueError):
        raise ValueError(f"span {raw!r} does not hold integers") from None
    if not 0 <= start <= end < n_turns:
        raise ValueError(f"span [{start}, {end}] is outside the transcript's {n_turns} turns")
    return [start, end]


def read_meeting(path: Path, split: str, cfg: QmsumSource) -> SourceMeeting:
    """Parse and clean one meeting file. Raises BadInput when the file cannot be used at all;
    bad spans only drop what they belong to and are listed in `problems`."""
    data = _load_json(path)
    _require(isinstance(data, dict), path, "top level is not a JSON object")
    turns = data.get("meeting_transcripts")
    _require(isinstance(turns, list) and len(turns) > 0, path, "'meeting_transcripts' is missing or empty")
    meeting_id, domain = path.stem, domain_of(path.stem)
    texts, speakers = [], []
    for i, turn in enumerate(turns):
        _require(isinstance(turn, dict) and isinstance(turn.get("content"), str),
                 path, f"meeting_transcripts[{i}] has no text 'content'")
        texts.append(clean_text(turn["content"]))
        speakers.append(str(turn.get("speaker") or "Unknown").strip() or "Unknown")
    times = estimate_times(texts, cfg.words_per_minute, cfg.min_turn_seconds, cfg.turn_gap_seconds)
    utterances = [
        {"meeting_id": meeting_id, "idx": i, "speaker": spk, "start": s, "end": e, "text": text,
         "source": "manual", "timing": "estimated", "domain": domain, "split": split}
        for i, (spk, text, (s, e)) in enumerate(zip(speakers, texts, times))
    ]
    problems: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    for n, q in enumerate(data.get("general_query_list") or []):
        if not (isinstance(q, dict) and isinstance(q.get("query"), str) and isinstance(q.get("answer"), str)):
            problems.append(_problem(path, f"general_query_list[{n}] lacks query/answer text", "schema"))
            continue
        queries.append(_query(meeting_id, "general", n, q, [], split, domain))
    for n, q in enumerate(data.get("specific_query_list") or []):
        if not (isinstance(q, dict) and isinstance(q.get("query"), str) and isinstance(q.get("answer"), str)):
            problems.append(_problem(path, f"specific_query_list[{n}] lacks query/answer text", "schema"))
            continue
        spans = []
        for raw in q.get("relevant_text_span") or []:
            try:
                spans.append(_span(raw, len(turns)))
            except ValueError as exc:
                problems.append(_problem(path, f"specific_query_list[{n}]: {exc}", "span-out-of-bounds"))
        if not spans:
            problems.append(_problem(path, f"specific_query_list[{n}] has no valid span; query dropped", "schema"))
            continue
        queries.append(_query(meeting_id, "specific", n, q, spans, split, domain))
    topics = []
    for n, t in enumerate(data.get("topic_list") or []):
        spans = []
        for raw in (t or {}).get("relevant_text_span") or []:
            try:
                spans.append(_span(raw, len(turns)))
            except ValueError as exc:
                problems.append(_problem(path, f"topic_list[{n}]: {exc}", "span-out-of-bounds"))
        topics.append({"topic": str((t or {}).get("topic", "")), "spans": spans})
    meeting = {
        "meeting_id": meeting_id, "split": split, "domain": domain, "source": "qmsum",
        "timing": "estimated", "file": f"{split}/{path.name}", "n_utterances": len(utterances),
        "n_empty": sum(1 for t in texts if not t), "n_words": sum(word_count(t) for t in texts),
        "duration_s": utterances[-1]["end"], "speakers": sorted(set(speakers)), "topics": topics,
    }
    return SourceMeeting(meeting, utterances, queries, problems)


def _query(meeting_id: str, kind: str, n: int, q: dict[str, Any], spans: list[list[int]],
           split: str, domain: str) -> dict[str, Any]:
    return {"query_id": f"{meeting_id}/{kind}/{n}", "meeting_id": meeting_id, "query": q["query"].strip(),
            "answer": q["answer"].strip(), "kind": kind, "spans": spans, "split": split, "domain": domain}


def _problem(path: Path, reason: str, kind: str) -> dict[str, Any]:
    return {"file": str(path), "reason": reason, "kind": kind, "stage": "etl"}
