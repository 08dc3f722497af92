"""The row to log for an answer the service gave: what was asked, what was read, what was cited."""
from __future__ import annotations

from typing import Any

from minutes.online.answer_log import AnswerRecord


def turn_id(meeting_id: str, idx: int) -> str:
    """The id feedback flags a /minutes citation by (a turn has no chunk id of its own)."""
    return f"{meeting_id}:{idx}"


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def ask_record(question: str, meeting_id: str | None, response: dict[str, Any], hits: list[dict[str, Any]],
               latency_ms: float) -> AnswerRecord:
    """A /ask answer: retrieved chunk ids best first, cited = the sources' chunk ids."""
    return AnswerRecord(endpoint="ask", question=question, meeting_id=meeting_id, mode=response["mode"],
                        model_version=response.get("model_version"),
                        retrieved=_unique([h["chunk_id"] for h in hits]),
                        cited=_unique([s["chunk_id"] for s in response["sources"]]), latency_ms=latency_ms)


def minutes_record(meeting_id: str, doc: dict[str, Any], latency_ms: float) -> AnswerRecord:
    """/minutes of one meeting: generative when the model wrote any section; cited = every turn cited."""
    cited = [turn_id(meeting_id, c["idx"]) for section in ("summary", "decisions", "action_items")
             for item in doc.get(section, []) for c in item.get("cites", [])]
    mode = "generative" if "model" in (doc.get("written_by") or {}).values() else "extractive"
    return AnswerRecord(endpoint="minutes", meeting_id=meeting_id, mode=mode, model_version=doc.get("model_version"),
                        cited=_unique(cited), latency_ms=latency_ms)
