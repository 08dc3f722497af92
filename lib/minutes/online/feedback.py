"""POST /feedback checked against the stored answer, then stored: the rules of a valid feedback."""
from __future__ import annotations

import re
from typing import Any

from minutes.config.serve import AnswerLogParams
from minutes.online.answer_log import RATINGS, AnswerLog, Rating
from minutes.serve.errors import ApiError

ANSWER_ID = re.compile(r"[0-9a-f]{32}")


def _shown(value: str, limit: int = 60) -> str:
    """A client's value quoted in an error message, cut short."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def submit(log: AnswerLog, p: AnswerLogParams, answer_id: str, rating: str, correction: str | None = None,
           flags: list[str] | None = None) -> dict[str, Any]:
    """Store one rating of answer `answer_id`; 404 for an unknown answer, 413 for an oversize
    correction or too many flags, 422 for a malformed id, a wrong rating or a flag on a passage
    the answer did not cite. Returns the stored feedback's id and the answer's model version."""
    if not ANSWER_ID.fullmatch(answer_id):
        raise ApiError(422, f"answer_id must be the 32 hex characters a response's answer_id holds, got {_shown(answer_id)}")
    if rating not in RATINGS:
        raise ApiError(422, f"rating must be 'up' or 'down', got {_shown(rating)}")
    text = (correction or "").strip() or None
    if text is not None and len(text) > p.max_correction_chars:
        raise ApiError(413, f"correction is {len(text)} characters; the limit is {p.max_correction_chars}")
    flagged = list(dict.fromkeys(flags or []))
    if len(flagged) > p.max_flags:
        raise ApiError(413, f"{len(flagged)} flags; the limit is {p.max_flags}")
    answer = log.answer(answer_id)
    if answer is None:
        raise ApiError(404, f"unknown answer_id {answer_id!r}")
    cited = set(answer["cited"])
    wrong = [f for f in flagged if f not in cited]
    if wrong:
        raise ApiError(422, f"flags must name passages the answer cited; it did not cite {_shown(wrong[0])}"
                            + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
    rated: Rating = "up" if rating == "up" else "down"
    feedback_id = log.add_feedback(answer_id, rated, text, flagged)
    return {"feedback_id": feedback_id, "answer_id": answer_id, "rating": rated,
            "model_version": answer["model_version"]}
