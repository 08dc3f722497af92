"""`python -m minutes.bench generator`: the packaged LMs side by side, on 40_evaluate's val contexts.

For each packaged base model: zero-shot ROUGE-1/2/Lsum on the same queries and retrieved contexts
the extractive baseline answers (the contexts 40_evaluate cached), generated tokens per second,
seconds per LoRA step (batch 4 of the study's training pairs, answer tokens only in the loss),
the one-off GGUF conversion time and peak resident memory. Each model runs in its own process,
so the memory figure is that model's. The LoRA rows of the comparison come from 40_evaluate's
metrics (`evaluate/<split>/metrics.json`), for the base model the profile trains.
Needs notebooks 10, 20 (and 30/40 for the LoRA row) to have run on the profile (default local).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
from typing import Any

MODELS = ("packaged-smollm2-135m", "packaged-gemma3-270m")
LORA_BATCH = 4


def _one(name: str, profile: str, n_queries: int, queue: Any) -> None:
    import torch

    from minutes.config import load_params
    from minutes.evaluate import scoring, stage
    from minutes.evaluate.systems import generator_predictions, token_budgets
    from minutes.generate.base import base_cache_dir, resolve_base
    from minutes.generate.generator import Generator

    torch.set_num_threads(1)
    params = load_params(profile, [f"train.base_model={name}"])
    t0 = time.perf_counter()
    path = resolve_base(name, base_cache_dir(params), params.train.seed)
    convert_s = time.perf_counter() - t0
    gen = Generator.base(params, device="cpu")
    prep = stage.prepare(params)
    contexts = prep.contexts[:n_queries]
    t0 = time.perf_counter()
    rows = generator_predictions(gen, contexts, params.evaluate.batch_size, token_budgets(params), {})
    gen_s = time.perf_counter() - t0
    preds = [r["prediction"] for r in rows]
    new_tokens = sum(len(gen.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in preds)
    scores = scoring.per_example(scoring.load_rouge(params.stage_dir("evaluate")), preds,
                                 [c["answer"] for c in contexts])
    step_s = _lora_step_seconds(params, path)
    queue.put({"model": name, "queries": len(contexts), "convert_s": round(convert_s, 1),
               **{t: round(sum(v) / len(v), 2) for t, v in scores.items() if v},
               "gen_tokens_per_s": round(new_tokens / gen_s, 1), "gen_s_per_answer": round(gen_s / len(contexts), 2),
               "lora_step_s": step_s, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               "empty_answers": sum(1 for p in preds if not p.strip())})


def _lora_step_seconds(params: Any, path: str) -> float | None:
    """Median seconds of 3 LoRA steps (after one warm-up) on the study's training pairs."""
    from minutes.generate import family as fam
    from minutes.io import read_jsonl
    from minutes.train.loop import encode, eos_id, make_optimizer, train_epoch
    from minutes.train.lora import LoraSettings, wrap

    pairs_path = params.stage_dir("train") / "pairs_train.jsonl"
    if not pairs_path.is_file():
        return None
    pairs = read_jsonl(pairs_path)[: LORA_BATCH * 4]
    model = wrap(fam.load_model(path), LoraSettings(r=8, alpha=16))
    tok = fam.load_tokenizer(path)
    tp = params.train
    data = encode(pairs, tok, tp.max_source_tokens, tp.max_target_tokens, eos_id(model, tok), tok.minutes_family)
    opt, sched = make_optimizer(model, 1e-4, 0.0, 8, 0.0)
    times = []
    for i in range(4):
        part = type(data)(data.input_ids[i * LORA_BATCH:(i + 1) * LORA_BATCH],
                          data.labels[i * LORA_BATCH:(i + 1) * LORA_BATCH], data.family)
        times.append(train_epoch(model, part, LORA_BATCH, int(tok.pad_token_id), opt, sched)["step_s"])
    return round(sorted(times[1:])[1], 2)


def _lora_row(profile: str) -> dict[str, Any] | None:
    """The trained model's scores from 40_evaluate's metrics, if it ran."""
    from minutes.config import load_params
    from minutes.io import read_json

    params = load_params(profile)
    path = params.stage_dir("evaluate") / params.evaluate.split / "metrics.json"
    if not path.is_file():
        return None
    metrics = read_json(path)
    names = {"R-1": "rouge1", "R-2": "rouge2", "R-Lsum": "rougeLsum", "groundedness": "groundedness"}
    return {"model": f"{params.train.base_model} (40_evaluate, {metrics['queries']} queries)",
            "systems": {row["system"]: {new: row.get(old) for old, new in names.items()} for row in metrics["summary"]}}

def run(args: Any) -> dict[str, Any]:
    profile = os.environ.get("MINUTES_BENCH_PROFILE", "local")
    n = 12 if args.quick else int(os.environ.get("MINUTES_BENCH_GEN_QUERIES", "40"))
    ctx = mp.get_context("spawn")
    rows = []
    for name in MODELS:
        queue = ctx.Queue()
        proc = ctx.Process(target=_one, args=(name, profile, n, queue))
        proc.start()
        proc.join()
        rows.append(queue.get() if proc.exitcode == 0 else {"model": name, "error": f"exit {proc.exitcode}"})
        print(rows[-1], flush=True)
    return {"profile": profile, "threads": 1, "zero_shot": rows, "lora": _lora_row(profile)}
