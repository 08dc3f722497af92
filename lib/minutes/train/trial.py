"""One Ray Tune trial: LoRA-train the base on the pairs, report and checkpoint every epoch.

Each trial is an MLflow run (params, per-epoch metrics, system metrics). A trial restored from a
checkpoint reloads adapter, optimizer, scheduler and history, and continues its own MLflow run.
A checkpoint directory is also a complete saved model: `Generator.from_dir` loads it.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from minutes.generate.base import write_model_meta
from minutes.train.lora import LoraSettings, trainable_fraction, wrap
from minutes.train.loop import Encoded, encode, eos_id, eval_loss, make_optimizer, rouge_l, steps_per_epoch, train_epoch

STATE = "state.pt"
TAG_STUDY = "minutes.study"
TAG_TRIAL = "minutes.trial_id"


@dataclass
class TrialSetup:
    """Everything a trial needs besides its sampled config (shipped to workers once)."""

    base_model: str  # the parameter ("packaged-minilm-ed", "google/flan-t5-large", ...)
    base_path: str  # what from_pretrained loads
    train_pairs: list[dict[str, Any]]
    val_pairs: list[dict[str, Any]]
    rouge_slice: int
    max_source_tokens: int
    max_target_tokens: int
    lora_dropout: float = 0.05
    family: str = "seq2seq"  # "causal" | "seq2seq", read from the base's config
    lora_target_modules: list[str] | None = None
    warmup_fraction: float = 0.1
    weight_decay: float = 0.0
    bf16: bool = False
    device: str = "cpu"
    threads: int = 1
    seed: int = 13
    generation: dict[str, Any] = field(default_factory=dict)
    gen_batch_size: int = 8
    tracking_uri: str = ""
    experiment_id: str = ""
    study: str = ""
    system_metrics: bool = True
    # MLflow samples every 10 s by default, which misses short trials entirely
    system_metrics_interval_s: float = 1.0

    def model_meta(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"base_model": self.base_model, "base_path": self.base_path, "seed": self.seed,
                "max_source_tokens": self.max_source_tokens, "max_target_tokens": self.max_target_tokens,
                "generation": self.generation, "bf16": self.bf16,
                "family": self.family,
                "lora": {"r": config["lora_r"], "alpha": config["lora_alpha"],
                         "dropout": config.get("lora_dropout", self.lora_dropout),
                         "targets": config.get("lora_targets") or self.lora_target_modules}}


def lora_settings(setup: TrialSetup, config: dict[str, Any]) -> LoraSettings:
    """LoRA settings of a sampled config; targets and dropout may be searched or fixed."""
    targets = config.get("lora_targets")
    return LoraSettings(r=int(config["lora_r"]), alpha=int(config["lora_alpha"]),
                        dropout=float(config.get("lora_dropout", setup.lora_dropout)),
                        target_modules=targets.split(",") if targets else setup.lora_target_modules)


def load_model(setup: TrialSetup, config: dict[str, Any]) -> tuple[Any, Any]:
    """(tokenizer, LoRA-wrapped model) for a config, seeded so trials start alike."""
    import torch

    from minutes.generate import family as fam

    torch.manual_seed(setup.seed)
    base = fam.load_model(setup.base_path)
    tokenizer = fam.load_tokenizer(setup.base_path, fam.family_of(base.config))
    model = wrap(base, lora_settings(setup, config))
    return tokenizer, model.to(setup.device)


def save_checkpoint(model: Any, tokenizer: Any, setup: TrialSetup, config: dict[str, Any], directory: Path,
                    state: dict[str, Any]) -> None:
    import torch

    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    write_model_meta(directory, setup.model_meta(config))
    torch.save(state, directory / STATE)


def restore_checkpoint(model: Any, directory: Path) -> dict[str, Any]:
    """Load adapter weights into `model`; returns the saved training state."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = directory / "adapter_model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"checkpoint {directory} has no adapter_model.safetensors")
    set_peft_model_state_dict(model, load_file(str(weights)))
    return torch.load(directory / STATE, weights_only=False)


def _mlflow_run(setup: TrialSetup, trial_id: str, trial_name: str, config: dict[str, Any]) -> Any:
    """Start this trial's MLflow run, or continue it when the trial resumes."""
    import mlflow

    mlflow.set_tracking_uri(setup.tracking_uri)
    if setup.system_metrics:
        mlflow.set_system_metrics_sampling_interval(setup.system_metrics_interval_s)
        mlflow.set_system_metrics_samples_before_logging(1)
    found = mlflow.search_runs(experiment_ids=[setup.experiment_id], output_format="list",
                               filter_string=f"tags.`{TAG_STUDY}` = '{setup.study}' and "
                                             f"tags.`{TAG_TRIAL}` = '{trial_id}'")
    if found:
        return mlflow.start_run(run_id=found[0].info.run_id, log_system_metrics=setup.system_metrics)
    run = mlflow.start_run(experiment_id=setup.experiment_id, run_name=trial_name,
                           tags={TAG_STUDY: setup.study, TAG_TRIAL: trial_id, "minutes.stage": "30_train"},
                           log_system_metrics=setup.system_metrics)
    mlflow.log_params({**{k: v for k, v in config.items()}, "base_model": setup.base_model,
                       "lora_dropout": setup.lora_dropout, "max_source_tokens": setup.max_source_tokens,
                       "max_target_tokens": setup.max_target_tokens, "train_pairs": len(setup.train_pairs),
                       "val_pairs": len(setup.val_pairs), "rouge_slice": setup.rouge_slice,
                       "device": setup.device, "threads": setup.threads})
    return run


def run_trial(config: dict[str, Any], setup: TrialSetup) -> None:
    """The Tune function trainable: one report (with checkpoint) per epoch."""
    import mlflow
    import torch
    from ray import tune

    from minutes.generate.generator import Generator

    torch.set_num_threads(max(1, setup.threads))
    # Ray forwards a worker's stderr into the notebook: keep library INFO chatter out of it
    for name in ("mlflow", "transformers", "peft"):
        logging.getLogger(name).setLevel(logging.WARNING)
    ctx = tune.get_context()
    trial_id, trial_name = ctx.get_trial_id(), ctx.get_trial_name()
    tokenizer, model = load_model(setup, config)
    eos, pad = eos_id(model, tokenizer), int(tokenizer.pad_token_id or 0)
    family = tokenizer.minutes_family
    train = encode(setup.train_pairs, tokenizer, setup.max_source_tokens, setup.max_target_tokens, eos, family)
    val = encode(setup.val_pairs, tokenizer, setup.max_source_tokens, setup.max_target_tokens, eos, family)
    epochs, bs = int(config["epochs"]), int(config["batch_size"])
    optimizer, scheduler = make_optimizer(model, float(config["lr"]), setup.weight_decay,
                                          epochs * steps_per_epoch(len(train), bs), setup.warmup_fraction)
    start_epoch, history = 0, []
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = restore_checkpoint(model, Path(d))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, history = int(state["epoch"]), list(state["history"])
    fraction = trainable_fraction(model)
    rouge_pairs = setup.val_pairs[:setup.rouge_slice]
    generator = Generator(model=model, tokenizer=tokenizer, max_source_tokens=setup.max_source_tokens,
                          max_new_tokens=setup.max_target_tokens, generation=dict(setup.generation))
    with _mlflow_run(setup, trial_id, trial_name, config):
        if start_epoch:
            mlflow.set_tag("resumed_from_epoch", str(start_epoch))
            start_loss = float(history[0].get("val_loss_start", "nan")) if history else float("nan")
        else:  # the untrained adapter's val loss: the learning curve's epoch 0
            start_loss = eval_loss(model, val, bs, pad, setup.device, setup.bf16)
            mlflow.log_metric("val_loss", start_loss, step=0)
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            done_steps = epoch * steps_per_epoch(len(train), bs)
            stats = train_epoch(model, train, bs, pad, optimizer, scheduler, setup.device, setup.bf16,
                                seed=setup.seed + epoch,
                                on_step=lambda n, loss: mlflow.log_metric("train_loss_step", loss,
                                                                          step=done_steps + n))
            loss = eval_loss(model, val, bs, pad, setup.device, setup.bf16)
            preds = generator.generate([p["source"] for p in rouge_pairs], batch_size=setup.gen_batch_size,
                                       progress=False)
            metrics = {"epoch": epoch + 1, "train_loss": stats["train_loss"], "val_loss": loss,
                       "val_rougeL": rouge_l(preds, [p["target"] for p in rouge_pairs]),
                       "step_s": stats["step_s"], "epoch_s": time.perf_counter() - t0,
                       "trainable_fraction": fraction, "resumed_from_epoch": start_epoch,
                       "val_loss_start": start_loss}
            history.append(metrics)
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if k not in ("epoch", "val_loss_start")},
                               step=epoch + 1)
            with tempfile.TemporaryDirectory(prefix="minutes-ckpt-") as d:
                save_checkpoint(model, tokenizer, setup, config, Path(d),
                                {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                 "epoch": epoch + 1, "history": history})
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))


def setup_dict(setup: TrialSetup) -> dict[str, Any]:
    """The setup without the pair lists (for logs and the study record)."""
    out = asdict(setup)
    out["train_pairs"], out["val_pairs"] = len(setup.train_pairs), len(setup.val_pairs)
    return out


def default_threads(cpus_per_trial: float) -> int:
    return max(1, min(int(cpus_per_trial), os.cpu_count() or 1))


__all__ = ["TrialSetup", "run_trial", "load_model", "save_checkpoint", "restore_checkpoint", "Encoded"]
