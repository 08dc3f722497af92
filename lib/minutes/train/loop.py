"""The training loop itself: tokenise pairs, train an epoch, measure eval loss and ROUGE-L.

Plain PyTorch, no Ray: a Tune trial (minutes.train.trial) and the benchmark both call it. The
model family (minutes.generate.family) decides how an example is laid out and its loss taken;
the loop is the same for both.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from minutes.generate import family as fam
from minutes.train.pairs import Pair


@dataclass
class Encoded:
    input_ids: list[list[int]]
    labels: list[list[int]]
    family: fam.Family = "seq2seq"

    def __len__(self) -> int:
        return len(self.input_ids)


def eos_id(model: Any, tokenizer: Any) -> int:
    """The token that ends a target (SEP for BERT-style decoders, </s> for T5)."""
    for cfg in (getattr(model, "generation_config", None), model.config):
        value = getattr(cfg, "eos_token_id", None) if cfg is not None else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            return int(value)
    value = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if value is None:
        raise ValueError("cannot tell the end-of-sequence token: set eos_token_id on the model config")
    return int(value)


def encode(pairs: Sequence[Pair], tokenizer: Any, max_source_tokens: int, max_target_tokens: int,
           eos: int, family: fam.Family = "seq2seq") -> Encoded:
    """Seq2seq: source ids (with special tokens) and target ids (text + eos). Causal: prompt + target
    in one sequence, labels masked (-100) on the prompt, so only answer tokens carry loss."""
    if family == "causal":
        inputs, labels = fam.encode_causal([p["source"] for p in pairs], [p["target"] for p in pairs],
                                           tokenizer, max_source_tokens, max_target_tokens, eos)
        return Encoded(input_ids=inputs, labels=labels, family="causal")
    src = tokenizer([p["source"] for p in pairs], truncation=True, max_length=max_source_tokens)["input_ids"]
    tgt = tokenizer([p["target"] for p in pairs], add_special_tokens=False)["input_ids"]
    labels = [list(t[:max_target_tokens - 1]) + [eos] for t in tgt]
    return Encoded(input_ids=[list(s) for s in src], labels=labels)


def batches(data: Encoded, batch_size: int, pad_id: int, shuffle: bool = False, seed: int = 0
            ) -> Iterator[dict[str, Any]]:
    """Padded tensors; labels are padded with -100 so padding never counts in the loss."""
    import torch

    order = list(range(len(data)))
    if shuffle:
        random.Random(seed).shuffle(order)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        src = [data.input_ids[j] for j in idx]
        lab = [data.labels[j] for j in idx]
        if data.family == "causal":
            yield fam.causal_batch(src, lab, pad_id)
            continue
        n_src, n_lab = max(map(len, src)), max(map(len, lab))
        yield {
            "input_ids": torch.tensor([s + [pad_id] * (n_src - len(s)) for s in src]),
            "attention_mask": torch.tensor([[1] * len(s) + [0] * (n_src - len(s)) for s in src]),
            "labels": torch.tensor([t + [-100] * (n_lab - len(t)) for t in lab]),
        }


def batch_loss(model: Any, batch: dict[str, Any], family: fam.Family) -> Any:
    """Mean token cross-entropy of a batch (causal: on answer tokens only, logits where needed)."""
    return fam.causal_loss(model, batch) if family == "causal" else model(**batch).loss


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def make_optimizer(model: Any, lr: float, weight_decay: float, total_steps: int, warmup_fraction: float
                   ) -> tuple[Any, Any]:
    import torch
    from transformers import get_linear_schedule_with_warmup

    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    sched = get_linear_schedule_with_warmup(opt, int(total_steps * warmup_fraction), max(1, total_steps))
    return opt, sched


def _autocast(device: str, bf16: bool) -> Any:
    import contextlib

    import torch

    if bf16 and device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_epoch(model: Any, data: Encoded, batch_size: int, pad_id: int, optimizer: Any, scheduler: Any,
                device: str = "cpu", bf16: bool = False, seed: int = 0, progress: bool = False,
                on_step: Callable[[int, float], None] | None = None) -> dict[str, float]:
    """One pass over `data`; returns mean loss and seconds per optimiser step.

    `on_step(step, loss)` sees every step's loss (a trial logs them to MLflow)."""
    import torch
    from tqdm.auto import tqdm

    model.train()
    total, steps, t0 = 0.0, 0, time.perf_counter()
    for batch in tqdm(batches(data, batch_size, pad_id, shuffle=True, seed=seed),
                      total=steps_per_epoch(len(data), batch_size), desc="train", disable=not progress):
        batch = {k: v.to(device) for k, v in batch.items()}
        with _autocast(device, bf16):
            loss = batch_loss(model, batch, data.family)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {steps}; lower the learning rate")
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        total += float(loss.item())
        steps += 1
        if on_step is not None:
            on_step(steps, float(loss.item()))
    elapsed = time.perf_counter() - t0
    return {"train_loss": total / max(steps, 1), "step_s": elapsed / max(steps, 1), "steps": steps}


def eval_loss(model: Any, data: Encoded, batch_size: int, pad_id: int, device: str = "cpu",
              bf16: bool = False) -> float:
    """Token-weighted mean cross-entropy over `data`."""
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for batch in batches(data, batch_size, pad_id):
            batch = {k: v.to(device) for k, v in batch.items()}
            n = int((batch["labels"] != -100).sum())
            with _autocast(device, bf16):
                total += float(batch_loss(model, batch, data.family)) * n
            tokens += n
    return total / max(tokens, 1)


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 in points (stemmed): the quick per-epoch check, not the evaluation."""
    from rouge_score import rouge_scorer

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        return float("nan")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]
    return 100.0 * sum(scores) / len(scores)
