"""Answer a question: retrieve passages, then answer generatively (a model holds the alias) or
extractively, and cite the utterances the answer rests on."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from minutes.online.answer_log import AnswerRecord
from minutes.online.records import ask_record
from minutes.serve.errors import ApiError
from minutes.serve.schemas import AskRequest

if TYPE_CHECKING:
    from minutes.serve.state import ServiceState

log = logging.getLogger(__name__)


def log_answer(state: "ServiceState", rec: AnswerRecord) -> str | None:
    """Log an answer; its id, or None when the log failed (the answer is still given, and counted)."""
    if state.answer_log is None:
        return None
    try:
        return state.answer_log.record(rec)
    except Exception:  # a full disk or a locked database must not turn answers into 500s
        log.exception("could not log answer")
        state.metrics.answer_log_errors.inc()
        return None


def check_question(state: "ServiceState", req: AskRequest) -> tuple[str, int]:
    """The cleaned question and k, or a 4xx naming what is wrong."""
    p = state.params.serve
    question = " ".join(req.question.split())
    if not any(ch.isalnum() for ch in question):  # any script's letters; control characters are none
        raise ApiError(422, "question is empty (only whitespace, or no letter or digit)")
    if len(question) > p.max_question_chars:
        raise ApiError(413, f"question is {len(question)} characters; the limit is {p.max_question_chars}")
    k = p.default_k if req.k is None else req.k
    if not 1 <= k <= p.max_k:
        raise ApiError(422, f"k must be between 1 and {p.max_k}, got {k}")
    if req.meeting_id is not None and req.meeting_id not in state.corpus:
        raise ApiError(404, f"unknown meeting_id {req.meeting_id!r} (see GET /meetings)")
    return question, k


def generative_answer(state: "ServiceState", generator: Any, question: str, hits: list[dict[str, Any]]
                      ) -> tuple[str, list[dict[str, Any]], float | None, str | None]:
    """(answer, sources, groundedness, fallback): the model's answer over the top chunks (the prompt
    shape it was trained on), each sentence attributed to the utterances that support it."""
    from minutes.answer.attribution import attribute, hit_utterances
    from minutes.generate.prompts import build_prompt, guess_task
    p = state.params
    shown = hits[: p.train.retrieved_chunks]
    task = guess_task(question)
    prompt = build_prompt(question, shown, generator.tokenizer, generator.max_source_tokens, task)
    out = state.generation.generate(generator, prompt,
                                    p.serve.minutes_tokens if task == "minutes" else p.serve.answer_tokens,
                                    p.serve.generate_timeout_s, p.serve.generate_queue_s)
    if out.fallback:
        return "", [], None, out.fallback
    utts = hit_utterances(shown, state.corpus.span)
    att = attribute(out.text, utts)
    sources = [state.corpus.source(utts[i]) for i in att.cited()]
    if not sources:  # nothing the model wrote is supported: show what it read, best first
        sources = [state.corpus.cite(h, out.text) for h in shown]
    return out.text, sources, att.groundedness, None


def ask(state: "ServiceState", req: AskRequest) -> dict[str, Any]:
    t0 = time.perf_counter()
    question, k = check_question(state, req)
    if state.drift is not None:
        state.drift.observe(question)  # an append; the test runs in the monitor's own thread
    loaded = state.watcher.current
    if req.mode == "generative" and loaded.generator is None:
        raise ApiError(409, f"no model version holds the alias {state.params.serve.model_alias!r}; "
                            "ask with mode 'extractive' or 'auto'")
    use_model = loaded.generator is not None and req.mode != "extractive"
    from minutes.index.retriever import UnknownMeeting

    try:
        hits = state.retriever.search(question, k, meeting_id=req.meeting_id,
                                      method=state.params.serve.retrieval_method)
    except UnknownMeeting as exc:
        raise ApiError(404, str(exc)) from exc
    groundedness, fallback = None, None
    if not hits:
        answer, sources = "", []
    elif use_model:
        answer, sources, groundedness, fallback = generative_answer(state, loaded.generator, question, hits)
        use_model = fallback is None
    if hits and not use_model:
        from minutes.answer.extractive import extractive_quotes

        answer, cited, quotes = extractive_quotes(question, hits, state.params.serve.max_answer_words)
        sources = [state.corpus.cite_quote(h, q, answer) for h, q in zip(cited, quotes)]
    mode = "generative" if use_model else "extractive"
    state.metrics.answers.labels(mode).inc()
    out = {
        "answer": answer or "No passage in the indexed meetings answers this question.",
        "mode": mode,
        "sources": sources,
        "model_version": loaded.version if use_model else None,
        "groundedness": round(groundedness, 3) if groundedness is not None else None,
        "fallback": fallback,
        "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
    }
    out["answer_id"] = log_answer(state, ask_record(question, req.meeting_id, out, hits, out["latency_ms"]))
    return out
