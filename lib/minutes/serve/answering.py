"""Answer a question: retrieve passages, then answer generatively (a model holds the alias) or
extractively, and cite the utterances the answer rests on."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from minutes.serve.errors import ApiError
from minutes.serve.schemas import AskRequest

if TYPE_CHECKING:
    from minutes.serve.state import ServiceState


def check_question(state: "ServiceState", req: AskRequest) -> tuple[str, int]:
    """The cleaned question and k, or a 4xx naming what is wrong."""
    p = state.params.serve
    question = " ".join(req.question.split())
    if not question:
        raise ApiError(422, "question is empty (or only whitespace)")
    if len(question) > p.max_question_chars:
        raise ApiError(413, f"question is {len(question)} characters; the limit is {p.max_question_chars}")
    k = p.default_k if req.k is None else req.k
    if not 1 <= k <= p.max_k:
        raise ApiError(422, f"k must be between 1 and {p.max_k}, got {k}")
    if req.meeting_id is not None and req.meeting_id not in state.corpus:
        raise ApiError(404, f"unknown meeting_id {req.meeting_id!r} (see GET /meetings)")
    return question, k


def generative_answer(state: "ServiceState", generator: Any, question: str, hits: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The model's answer over the top chunks (the same prompt shape it was trained on)."""
    from minutes.generate.prompts import build_prompt, guess_task

    cited = hits[: state.params.train.retrieved_chunks]
    prompt = build_prompt(question, cited, generator.tokenizer, state.params.train.max_source_tokens,
                          guess_task(question))
    with state.generate_lock:  # one generation at a time: the model is not re-entrant on CPU threads
        answer = generator.generate([prompt])[0]
    return answer.strip(), cited


def ask(state: "ServiceState", req: AskRequest) -> dict[str, Any]:
    t0 = time.perf_counter()
    question, k = check_question(state, req)
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
    if not hits:
        answer, cited = "", []
    elif use_model:
        answer, cited = generative_answer(state, loaded.generator, question, hits)
    else:
        from minutes.answer.extractive import extractive_answer

        answer, cited = extractive_answer(question, hits, state.params.serve.max_answer_words)
    mode = "generative" if use_model else "extractive"
    state.metrics.answers.labels(mode).inc()
    return {
        "answer": answer or "No passage in the indexed meetings answers this question.",
        "mode": mode,
        "sources": [state.corpus.cite(h, answer) for h in cited],
        "model_version": loaded.version if use_model else None,
        "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
    }
