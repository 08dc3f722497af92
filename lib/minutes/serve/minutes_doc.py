"""Meeting minutes from a transcript: summary, decisions and action items, each citing turns.

Extractive on purpose: every line is a (trimmed) utterance, so every claim is checkable against
the passage it cites. The summary takes the most central utterance of each equal slice of the
meeting (so it follows the meeting's course); decisions and action items are utterances with the
linguistic cues people use for them ("we decided", "I'll send ..."), ranked by cue strength.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from minutes.text import content_words, trim_words
from minutes.text import clean_text as clean

_DECISION = [(re.compile(p, re.I), w) for p, w in [
    (r"\b(we|i)\s+(have\s+)?decided\b", 3.0), (r"\bdecision\b", 2.5), (r"\bwe\s+agreed?\b", 2.5),
    (r"\bagreed\b", 2.0), (r"\blet'?s\s+go\s+(with|for)\b", 2.5), (r"\bwe('ll| will)\s+(go|stick)\s+with\b", 2.5),
    (r"\bwe('re| are)\s+going\s+(with|to use)\b", 2.0), (r"\bsettled\b", 1.5), (r"\bfinal(ly|ised|ized)?\b", 1.0),
    (r"\bconsensus\b", 2.0), (r"\bapproved?\b", 1.5), (r"\bwe\s+(should|must)\b", 1.0), (r"\bchose|choose\b", 1.0),
]]
_ACTION = [(re.compile(p, re.I), w) for p, w in [
    (r"\baction\s+items?\b", 3.0), (r"\bi('ll| will)\s+(send|write|do|check|look|prepare|make|email|draw|find|take)\b", 3.0),
    (r"\byou('ll| will)\s+(send|write|do|check|look|prepare|make|email|draw|find|take)\b", 2.5),
    (r"\b(next|by)\s+(meeting|week|monday|tuesday|wednesday|thursday|friday)\b", 2.0),
    (r"\b(need|needs|have|has)\s+to\b", 1.0), (r"\bmake\s+sure\b", 1.5), (r"\btake\s+care\s+of\b", 2.0),
    (r"\bhomework\b", 2.0), (r"\bassign(ed|ment)?\b", 1.5), (r"\bfollow[- ]up\b", 2.0), (r"\bto-?do\b", 2.0),
]]
_FIRST_PERSON = re.compile(r"\bi('ll| will| can| am going to)\b", re.I)
MIN_WORDS = 6
MAX_ITEM_WORDS = 40


def _trim(text: str) -> str:
    return trim_words(text, MAX_ITEM_WORDS)


def citation(u: dict[str, Any]) -> dict[str, Any]:
    """A turn as a minutes citation (turn index, speaker, times, cleaned text)."""
    return {"idx": int(u["idx"]), "speaker": u["speaker"], "start": float(u["start"]),
            "end": float(u["end"]), "text": clean(u["text"])}


def _centrality(utts: list[dict[str, Any]]) -> list[float]:
    """How typical of the whole meeting each utterance's content words are (tf-idf-like)."""
    bags = [[w for w in content_words(u["text"]) if len(w) > 2] for u in utts]
    tf = Counter(w for bag in bags for w in bag)
    df = Counter(w for bag in bags for w in set(bag))
    n = max(len(bags), 1)
    out = []
    for bag in bags:
        uniq = set(bag)
        if len(bag) < MIN_WORDS // 2:
            out.append(0.0)
            continue
        s = sum(math.log1p(tf[w]) * math.log(1 + n / df[w]) for w in uniq)
        out.append(s / math.sqrt(len(uniq)))
    return out


def _cued(utts: list[dict[str, Any]], cues: list[tuple[re.Pattern[str], float]], n: int) -> list[dict[str, Any]]:
    scored = []
    for u in utts:
        text = clean(u["text"])
        if len(text.split()) < MIN_WORDS:
            continue
        score = sum(w for pat, w in cues if pat.search(text))
        if score >= 2.0:
            scored.append((score, u))
    top = sorted(scored, key=lambda t: (-t[0], t[1]["idx"]))[:n]
    return [u for _, u in sorted(top, key=lambda t: t[1]["idx"])]


def build_minutes(meeting_id: str, utterances: list[dict[str, Any]], n_items: int = 6) -> dict[str, Any]:
    """Minutes of one meeting as a JSON-able dict (see schemas.MinutesResponse)."""
    utts = [u for u in utterances if clean(u["text"])]
    if not utts:
        raise ValueError(f"meeting {meeting_id!r} has no utterances")
    scores = _centrality(utts)
    summary = []
    slices = min(n_items, len(utts))
    for s in range(slices):
        lo, hi = len(utts) * s // slices, len(utts) * (s + 1) // slices
        best = max(range(lo, hi), key=lambda i: scores[i])
        if scores[best] > 0:
            summary.append(utts[best])
    decisions = _cued(utts, _DECISION, n_items)
    actions = _cued(utts, _ACTION, n_items)
    doc: dict[str, Any] = {
        "meeting_id": meeting_id,
        "summary": [{"text": f"{u['speaker']}: {_trim(clean(u['text']))}", "owner": None, "cites": [citation(u)]}
                    for u in summary],
        "decisions": [{"text": _trim(clean(u["text"])), "owner": None, "cites": [citation(u)]} for u in decisions],
        "action_items": [{"text": _trim(clean(u["text"])),
                          "owner": u["speaker"] if _FIRST_PERSON.search(u["text"]) else None,
                          "cites": [citation(u)]} for u in actions],
    }
    doc.update(written_by={k: "extractive" for k in ("summary", "decisions", "action_items")},
               model_version=None, fallback=None, groundedness={})
    doc["markdown"] = to_markdown(doc)
    return doc


def _ts(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def to_markdown(doc: dict[str, Any]) -> str:
    """Minutes as markdown; each item ends with its citation [speaker, time, turn]."""
    lines = [f"# Minutes: {doc['meeting_id']}", ""]
    if doc.get("model_version"):
        by = doc.get("written_by", {})
        model = [k.replace("_", " ") for k, v in by.items() if v == "model"]
        lines += [f"_Written by model version {doc['model_version']}"
                  + (f" ({', '.join(model)}; the rest extracted)" if len(model) < len(by) else "") + "._", ""]
    for key, title in [("summary", "Summary"), ("decisions", "Decisions"), ("action_items", "Action items")]:
        lines += [f"## {title}", ""]
        items = doc[key]
        if not items:
            lines += ["_none found_", ""]
            continue
        for item in items:
            owner = f" (owner: {item['owner']})" if item.get("owner") else ""
            cites = "; ".join(f"{c['speaker']}, {_ts(c['start'])}, turn {c['idx']}" for c in item["cites"])
            lines.append(f"- {item['text']}{owner} [{cites}]")
        lines.append("")
    return "\n".join(lines)
