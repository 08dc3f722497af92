"""`python -m minutes.bench budget`: the answer token budget against ROUGE and `/ask` latency.

`serve.answer_tokens` is the one lever that moves both the quality of an answer and its cost. For
each budget the model behind `serve.model_alias` (on the serving runtime) answers the same val
contexts 40_evaluate scores, through the service's own `GenerationQueue` with two users asking
at once (the concurrency of the `/ask` latency target): ROUGE against the gold answers, the
extractive baseline's ROUGE on the same contexts, and per-answer latency p50/p95 as the users saw
it (queueing included). No HTTP and no retrieval (a few ms, measured by `bench serve`).
Needs notebooks 10, 20 and 30 on the profile; MINUTES_BENCH_BUDGETS picks the budgets.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

USERS = 2


def run(args: Any) -> dict[str, Any]:
    import torch

    from minutes.config import load_params
    from minutes.evaluate import scoring, stage, systems
    from minutes.generate.prompts import build_prompt
    from minutes.serve.generation import GenerationQueue

    profile = os.environ.get("MINUTES_BENCH_PROFILE", "local")
    n = 8 if args.quick else int(os.environ.get("MINUTES_BENCH_BUDGET_QUERIES", "40"))
    budgets = [int(b) for b in os.environ.get("MINUTES_BENCH_BUDGETS", "24,32,48,64").split(",")]
    params = load_params(profile)
    torch.set_num_threads(params.serve.torch_threads)
    gen, model = _generator(params)
    prep = stage.prepare(params)
    contexts = prep.contexts[:n]
    golds = [c["answer"] for c in contexts]
    prompts = [build_prompt(c["query"], c["hits"], gen.tokenizer, gen.max_source_tokens, task=c["task"])
               for c in contexts]
    rouge = scoring.load_rouge(params.stage_dir("evaluate"))
    metric = params.evaluate.gates.metric
    extractive = [r["prediction"] for r in systems.extractive_predictions(contexts, prep.words)]
    base = _mean(scoring.per_example(rouge, extractive, golds))
    rows = [{"system": "extractive", "answer_tokens": None, **base}]
    work = GenerationQueue.for_params(params)  # the service's (serve.state): same workers
    gen.generate([prompts[0]], 4, batch_size=1, progress=False)  # warm: first call allocates
    for budget in budgets:
        texts, secs = _two_users(work, gen, prompts, budget, params.serve.generate_timeout_s)
        s = sorted(secs)
        row = {"system": model, "answer_tokens": budget, **_mean(scoring.per_example(rouge, texts, golds)),
               "s_p50": round(s[len(s) // 2], 2), "s_p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2),
               "tokens_per_answer": round(sum(len(gen.tokenizer(t, add_special_tokens=False)["input_ids"])
                                              for t in texts) / len(texts), 1)}
        row[f"{metric}_over_extractive"] = round(row[metric] - base[metric], 2)
        rows.append(row)
        print(row, flush=True)
    return {"profile": profile, "model": model, "runtime": f"{params.serve.runtime}/{params.serve.compute_type}",
            "threads": params.serve.torch_threads, "users": USERS, "queries": len(contexts), "rows": rows,
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def _mean(scores: dict[str, list[float]]) -> dict[str, float]:
    return {k: round(sum(v) / len(v), 2) for k, v in scores.items() if v}


def _two_users(work: Any, gen: Any, prompts: list[str], budget: int, timeout_s: float) -> tuple[list[str], list[float]]:
    """Closed loop: each user asks its next question when its last answer came back."""
    texts: list[str] = [""] * len(prompts)
    secs: list[float] = [0.0] * len(prompts)

    def user(k: int) -> None:
        for i in range(k, len(prompts), USERS):
            t0 = time.perf_counter()
            out = work.generate(gen, prompts[i], budget, timeout_s, queue_s=timeout_s)
            texts[i], secs[i] = out.text, time.perf_counter() - t0

    threads = [threading.Thread(target=user, args=(k,)) for k in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return texts, secs


def _generator(params: Any) -> tuple[Any, str]:
    from minutes.bench.runtime import served_model
    from minutes.generate import runtime

    load, version = served_model(params)
    return runtime.apply(load(), params), f"lora-v{version}" if version else params.train.base_model
