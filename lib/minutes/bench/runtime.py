"""`python -m minutes.bench runtime`: the generator on torch and on CTranslate2, same model, same inputs.

The model behind `serve.model_alias` (or the base model when none is registered) answers the same
val contexts 40_evaluate scores, once per runtime: ROUGE against the gold answers, seconds per
answer and generated tokens per second, with the service's token budget and one answer at a time
(what `/ask` does). Runtimes alternate per query, so a busy machine slows them alike; the ratios
are the figures to read. Needs notebooks 10 and 20 (and 30 for a registered model) on the profile.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

RUNTIMES = (("torch", "float32"), ("ctranslate2", "int8"), ("ctranslate2", "float32"))


def run(args: Any) -> dict[str, Any]:
    import torch

    from minutes.config import load_params
    from minutes.evaluate import scoring, stage
    from minutes.generate.prompts import build_prompt

    profile = os.environ.get("MINUTES_BENCH_PROFILE", "local")
    n = 8 if args.quick else int(os.environ.get("MINUTES_BENCH_RUNTIME_QUERIES", "40"))
    params = load_params(profile)
    threads = params.serve.torch_threads
    torch.set_num_threads(threads)
    gens, model = _generators(params, threads)
    contexts = stage.prepare(params).contexts[:n]
    budget = params.serve.answer_tokens
    out: dict[str, dict[str, list[Any]]] = {name: {"pred": [], "s": [], "tok": []} for name in gens}
    for c in contexts:
        for name, gen in gens.items():
            prompt = build_prompt(c["query"], c["hits"], gen.tokenizer, gen.max_source_tokens, task=c["task"])
            t0 = time.perf_counter()
            text = gen.generate([prompt], budget, batch_size=1, progress=False)[0]
            out[name]["s"].append(time.perf_counter() - t0)
            out[name]["pred"].append(text)
            out[name]["tok"].append(len(gen.tokenizer(text, add_special_tokens=False)["input_ids"]))
    rouge = scoring.load_rouge(params.stage_dir("evaluate"))
    rows = []
    for name, r in out.items():
        scores = scoring.per_example(rouge, r["pred"], [c["answer"] for c in contexts])
        secs = sorted(r["s"])
        rows.append({"runtime": name, "queries": len(contexts),
                     **{k: round(sum(v) / len(v), 2) for k, v in scores.items() if v},
                     "s_per_answer_p50": round(secs[len(secs) // 2], 2), "s_per_answer_max": round(secs[-1], 2),
                     "tokens_per_s": round(sum(r["tok"]) / sum(r["s"]), 1)})
        print(rows[-1], flush=True)
    base = rows[0]["s_per_answer_p50"]
    for row in rows:
        row["speedup_p50_vs_torch"] = round(base / row["s_per_answer_p50"], 2)
    return {"profile": profile, "model": model, "threads": threads, "answer_tokens": budget, "rows": rows,
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def served_model(params: Any) -> tuple[Callable[[], Any], str | None]:
    """A loader of the model the service would answer with (the registry version holding the
    alias, else the base model) and that version; benchmarks load it once per runtime."""
    from minutes.generate.generator import Generator
    from minutes.generate.registry import load_registered
    from minutes.platform.mlflow_server import ensure_server
    from minutes.serve.model_watch import registry_version

    ensure_server(params)
    version = registry_version(params)

    def load() -> Any:
        return load_registered(params, version, device="cpu") if version else Generator.base(params, "cpu")

    return load, version


def _generators(params: Any, threads: int) -> tuple[dict[str, Any], str]:
    """One loaded generator per runtime (the promoted model if one holds the alias)."""
    load, version = served_model(params)
    gens = {}
    for runtime, compute in RUNTIMES:
        name = "torch" if runtime == "torch" else f"ctranslate2-{compute}"
        gens[name] = load().accelerate(runtime, compute, threads, params.stage_dir("train") / "ct2")
    return gens, f"v{version}" if version else params.train.base_model
