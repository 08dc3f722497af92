"""The prompt the generator reads: instruction, question, then transcript excerpts.

Training (30), evaluation (40) and the service (50) all build prompts here, so the model is
asked at inference exactly the way it was taught. Excerpts share the token budget fairly: short
ones keep all their text and the rest is split among the long ones, each cut at its end, so a
single long chunk can never crowd the others out.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Sequence

from minutes.generate.family import prompt_overhead
from minutes.schema import Hit

Task = Literal["answer", "minutes"]
TASKS: tuple[str, ...] = ("answer", "minutes")

INSTRUCTIONS: dict[str, str] = {
    "answer": "Answer the question about the meeting using the transcript excerpts.",
    "minutes": "Write the minutes of the meeting from the transcript excerpts: topics, decisions, actions.",
}

_MINUTES_REQUEST = re.compile(
    r"\b(summari[sz]e|summary|minutes|recap|overview)\b.*\b(meeting|discussion|session|call)\b"
    r"|\bwhole meeting\b", re.I)


def guess_task(question: str) -> Task:
    """'Summarize the whole meeting' style requests get minutes; everything else an answer."""
    return "minutes" if _MINUTES_REQUEST.search(question or "") else "answer"


def count_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def truncate_to_tokens(tokenizer: Any, text: str, max_tokens: int) -> str:
    """The longest prefix of `text` (whole words) that fits in `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    if count_tokens(tokenizer, text) <= max_tokens:
        return text
    words = text.split(" ")
    lo, hi = 0, len(words)  # invariant: words[:lo] fits, words[:hi+1] does not (hi may be len)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(tokenizer, " ".join(words[:mid])) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_excerpt(hit: Hit | dict[str, Any]) -> str:
    """One excerpt: a time stamp (so answers can cite it) then the chunk's speaker lines."""
    return f"[{_clock(float(hit.get('start', 0.0)))}] {str(hit['text']).strip()}"


def fair_shares(lengths: Sequence[int], budget: int) -> list[int]:
    """Token allowance per excerpt: the largest common cap that fits, leftovers to the first."""
    if budget <= 0 or not lengths:
        return [0] * len(lengths)
    if sum(lengths) <= budget:
        return list(lengths)
    lo, hi = 0, max(lengths)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            lo = mid
        else:
            hi = mid - 1
    shares = [min(n, lo) for n in lengths]
    spare = budget - sum(shares)
    for i, n in enumerate(lengths):
        extra = min(spare, n - shares[i])
        shares[i] += extra
        spare -= extra
    return shares


def build_prompt(question: str, hits: list[Hit], tokenizer: Any, max_tokens: int,
                 task: Task = "answer") -> str:
    """Instruction + question + excerpts of `hits` (in the given order), within `max_tokens`.

    `max_tokens` counts the model's framing too (special tokens, or a causal LM's chat template), so
    the model never sees a truncated prompt.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if max_tokens < 16:
        raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
    budget = max_tokens - prompt_overhead(tokenizer)
    question = " ".join(str(question or "").split())
    head = f"{INSTRUCTIONS[task]}\nquestion: "
    tail = "\ntranscript:"
    room = budget - count_tokens(tokenizer, head + tail)
    if room < 4:
        raise ValueError(f"max_tokens={max_tokens} leaves no room after the {task!r} instruction "
                         f"({budget - room} tokens); raise train.max_source_tokens")
    # A question keeps up to half the room, and a short one (<= 64 tokens) is never cut while
    # excerpts still get a few tokens: a half-asked question is worse than a shorter excerpt.
    question = truncate_to_tokens(tokenizer, question, max(room // 2, min(64, room - 8)) if hits else room)
    header = f"{head}{question}{tail}"
    budget -= count_tokens(tokenizer, header)
    excerpts = ["\n" + format_excerpt(h) for h in hits]
    lengths = [count_tokens(tokenizer, e) for e in excerpts]
    shares = fair_shares(lengths, budget)
    parts = [e if share >= n else truncate_to_tokens(tokenizer, e, share)
             for e, n, share in zip(excerpts, lengths, shares)]
    prompt = header + "".join(p for p in parts if p.strip())
    # Tokenizers are not exactly additive across joins; trim until the whole prompt fits.
    limit = max_tokens - prompt_overhead(tokenizer)
    while count_tokens(tokenizer, prompt) > limit:
        excess = count_tokens(tokenizer, prompt) - limit
        prompt = truncate_to_tokens(tokenizer, prompt, count_tokens(tokenizer, prompt) - max(excess, 1))
    return prompt
