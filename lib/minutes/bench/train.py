"""`python -m minutes.bench train`: the offline generator's training cost on this CPU.

Seconds per optimiser step (batch 8) of the local profile's base model (SmolLM2-135M-Instruct,
a causal LM: loss and logits on answer tokens only) under LoRA at the ci (192) and local (384)
source budgets, with 1 and 2 torch threads (a Tune trial gets `cpus_per_trial`
threads), and the trainable fraction per LoRA rank. Inputs are QMSum val transcript windows
cut to the budget, targets their queries' answers: real token statistics, no Ray, no MLflow.
"""
from __future__ import annotations

import json
import time
from typing import Any

BATCH = 8


def _pairs(n: int) -> list[dict[str, str]]:
    from minutes.config import load_params

    qmsum = load_params("local").data.qmsum.path
    out: list[dict[str, str]] = []
    for path in sorted((qmsum / "val").glob("*.json")):
        data = json.loads(path.read_text())
        turns = [f"{t['speaker']}: {t['content']}" for t in data["meeting_transcripts"]]
        answers = [q["answer"] for q in data.get("specific_query_list", [])] or ["no answer"]
        for i in range(0, len(turns) - 20, 20):
            out.append({"source": "\n".join(turns[i:i + 20]), "target": answers[len(out) % len(answers)]})
            if len(out) >= n:
                return out
    if not out:
        raise FileNotFoundError(f"{qmsum / 'val'}: no QMSum meetings to benchmark with")
    return out


def _step_seconds(base: str, pairs: list[dict[str, str]], max_source: int, threads: int, steps: int,
                  r: int = 8) -> dict[str, Any]:
    import torch

    from minutes.generate import family as fam
    from minutes.train.loop import encode, eos_id, make_optimizer, train_epoch
    from minutes.train.lora import LoraSettings, trainable_fraction, wrap

    torch.set_num_threads(threads)
    tok = fam.load_tokenizer(base)
    model = wrap(fam.load_model(base), LoraSettings(r=r, alpha=2 * r))
    family = tok.minutes_family
    opt, sched = make_optimizer(model, 1e-3, 0.0, steps + 1, 0.0)
    warm = encode(pairs[:BATCH], tok, max_source, 96, eos_id(model, tok), family)
    train_epoch(model, warm, BATCH, int(tok.pad_token_id or 0), opt, sched)  # first step pays allocations
    timed = encode(pairs[BATCH:BATCH * (steps + 1)], tok, max_source, 96, eos_id(model, tok), family)
    stats = train_epoch(model, timed, BATCH, int(tok.pad_token_id or 0), opt, sched)
    return {"max_source_tokens": max_source, "threads": threads, "steps": stats["steps"],
            "step_s": round(stats["step_s"], 3), "trainable_fraction": round(trainable_fraction(model), 4)}


def run(args: Any) -> dict[str, Any]:
    from minutes.config import load_params
    from minutes.generate.base import default_cache_dir, resolve_base

    steps = 2 if args.quick else 5
    name = load_params("local").train.base_model
    t0 = time.perf_counter()
    base = resolve_base(name, default_cache_dir())  # converted once into the user's model cache
    build_s = time.perf_counter() - t0
    pairs = _pairs(BATCH * (steps + 1))
    rows = []
    for max_source in ([192] if args.quick else [192, 384]):
        for threads in ([1] if args.quick else [1, 2]):
            rows.append(_step_seconds(base, pairs, max_source, threads, steps))
            print(rows[-1], flush=True)
    fractions = {} if args.quick else {
        f"r={r}": _step_seconds(base, pairs, 192, 1, 1, r=r)["trainable_fraction"] for r in (4, 16)}
    return {"model": f"{name} + LoRA (architecture default targets)",
            "batch_size": BATCH, "base_build_s": round(build_s, 1), "steps": rows,
            "trainable_fraction_by_rank": {"r=8": rows[0]["trainable_fraction"], **fractions}}
