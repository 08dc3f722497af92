"""Minutes written by the promoted generator, every item citing the turns it rests on.

Three generations, each the task the model was trained on: the summary paragraph is the
"summarize the whole meeting" (minutes) task over chunks spread across the meeting; decisions
and action items are answers to two fixed questions over what retrieval finds in that meeting.
Each generated sentence becomes an item only if attribution finds the utterances supporting it
(minutes.answer.attribution), so an item always cites turns of this meeting; an action item's
owner is the speaker of its first supporting turn. A section whose generation falls back (the
model busy or too slow, or nothing grounded) takes the extractive section instead, and the
document says which sections the model wrote.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from minutes.answer.attribution import attribute, hit_utterances
from minutes.generate.context import overview_hits
from minutes.generate.prompts import build_prompt
from minutes.serve.minutes_doc import build_minutes, citation, to_markdown

if TYPE_CHECKING:
    from minutes.serve.state import ServiceState

SUMMARY_REQUEST = "Summarize the whole meeting."
QUESTIONS = {"decisions": "What did the group decide in the meeting?",
             "action_items": "What will each person do next, and who is responsible?"}


def _items(state: "ServiceState", generator: Any, hits: list[dict[str, Any]], request: str, task: str,
           tokens: int, timeout_s: float, owners: bool) -> tuple[list[dict[str, Any]], float | None, str | None]:
    """(items, groundedness, fallback) of one generated section."""
    prompt = build_prompt(request, hits, generator.tokenizer, generator.max_source_tokens, task)  # type: ignore[arg-type]
    out = state.generation.generate(generator, prompt, tokens, timeout_s, state.params.serve.generate_queue_s)
    if out.fallback:
        return [], None, out.fallback
    utts = hit_utterances(hits, state.corpus.span)
    att = attribute(out.text, utts)
    items = [{"text": s.sentence, "owner": utts[s.utterances[0]]["speaker"] if owners else None,
              "cites": [citation(utts[i]) for i in s.utterances]} for s in att.sentences if s.grounded]
    return items, att.groundedness, None if items else "ungrounded"


def write_minutes(state: "ServiceState", generator: Any, version: str | None, meeting_id: str) -> dict[str, Any]:
    """The minutes document of `meeting_id` (schemas.MinutesResponse), written by `generator`."""
    p = state.params
    mine = state.retriever.meeting_chunks(meeting_id)
    jobs = {"summary": (overview_hits(mine, p.train.retrieved_chunks), SUMMARY_REQUEST, "minutes",
                        p.serve.minutes_tokens, p.serve.minutes_timeout_s, False)}
    for key, question in QUESTIONS.items():
        hits = state.retriever.search(question, p.train.retrieved_chunks, meeting_id=meeting_id,
                                      method=p.serve.retrieval_method)
        jobs[key] = (hits, question, "answer", p.serve.answer_tokens, p.serve.generate_timeout_s,
                     key == "action_items")
    # submitted together: the model worker decodes the two answers as one batch
    with ThreadPoolExecutor(len(jobs)) as pool:
        done = {key: pool.submit(_items, state, generator, *job) for key, job in jobs.items()}
        results = {key: f.result() for key, f in done.items()}
    sections = {key: r[0] for key, r in results.items()}
    grounded = {key: r[1] for key, r in results.items()}
    fallbacks = {key: r[2] for key, r in results.items() if r[2]}
    if fallbacks:
        extractive = build_minutes(meeting_id, state.corpus.utterances(meeting_id), p.serve.minutes_items)
        for key in fallbacks:
            sections[key] = extractive[key]
    doc: dict[str, Any] = {"meeting_id": meeting_id, **sections,
                           "written_by": {k: ("extractive" if k in fallbacks else "model") for k in sections},
                           "model_version": version, "fallback": fallbacks or None,
                           "groundedness": {k: v for k, v in grounded.items() if k not in fallbacks}}
    doc["markdown"] = to_markdown(doc)
    return doc
