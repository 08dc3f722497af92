"""Parameters of LoRA fine-tuning under Ray Tune (30_train) and of generation defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from minutes.config.base import Section


class SearchSpace(Section):
    """Ray Tune search space. `lr` is a [low, high] log-uniform range; the rest are choices."""

    lr: list[float] = [1e-4, 1e-3]
    lora_r: list[int] = [8, 16]
    lora_alpha: list[int] = [16, 32]
    #: LoRA dropout choices; empty: the fixed `train.lora_dropout`.
    lora_dropout: list[float] = []
    #: Target-module sets as comma-joined names ("q_proj,v_proj"); empty: `train.lora_target_modules`
    #: or the architecture's default.
    lora_targets: list[str] = []
    epochs: list[int] = [1, 2]
    batch_size: list[int] = [8]

    @model_validator(mode="after")
    def _check(self) -> "SearchSpace":
        if len(self.lr) not in (1, 2) or any(v <= 0 for v in self.lr) or self.lr[0] > self.lr[-1]:
            raise ValueError(f"lr must be [value] or [low, high] with 0 < low <= high, got {self.lr}")
        if any(not 0 <= d < 1 for d in self.lora_dropout):
            raise ValueError(f"lora_dropout choices must be in [0, 1), got {self.lora_dropout}")
        if any(not t.strip() or any(not m.strip() for m in t.split(",")) for t in self.lora_targets):
            raise ValueError(f"lora_targets must be comma-joined module names, got {self.lora_targets}")
        for name in ("lora_r", "lora_alpha", "epochs", "batch_size"):
            values = getattr(self, name)
            if not values or any(v < 1 for v in values):
                raise ValueError(f"{name} must be a non-empty list of positive integers, got {values}")
        return self


class TrainParams(Section):
    #: Offline, from PyPI packages: "packaged-smollm2-135m" (SmolLM2-135M-Instruct),
    #: "packaged-gemma3-270m" (Gemma 3 270M base), "packaged-smollm2-tiny" (tiny random, ci),
    #: "packaged-minilm-ed" (encoder-decoder warm-started from MiniLM). Otherwise any causal or
    #: seq2seq model name or path, e.g. "google/flan-t5-large"; its config decides the family.
    base_model: str = "packaged-smollm2-135m"
    registered_model: str = "minutes-generator"
    max_source_tokens: int = Field(384, ge=16)
    max_target_tokens: int = Field(96, ge=8)
    retrieved_chunks: int = Field(3, ge=1)
    #: Retrieval method handed to the index's retriever when building training pairs.
    retrieval_method: str = "dense"
    max_train_pairs: int | None = Field(None, ge=1)
    max_val_pairs: int | None = Field(None, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    #: None: per architecture (T5 ["q","v"]; BERT-style encoder-decoder ["query","value"]).
    lora_target_modules: list[str] | None = None
    warmup_fraction: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    num_samples: int = Field(4, ge=1)
    max_concurrent: int = Field(2, ge=1)
    cpus_per_trial: float = Field(1, gt=0)
    gpus_per_trial: float = Field(0, ge=0)
    bf16: bool = False
    #: What selects the best trial (and what ASHA and Optuna optimise).
    metric: Literal["val_rougeL", "val_loss"] = "val_rougeL"
    asha_grace_period: int = Field(1, ge=1)
    asha_reduction_factor: int = Field(2, ge=2)
    #: Stop starting new trials after this many seconds (None: no limit).
    time_budget_s: float | None = Field(None, gt=0)
    rouge_val_slice: int = Field(16, ge=1)
    #: Generation defaults saved with the model (the service and evaluation use them).
    gen_num_beams: int = Field(1, ge=1, le=8)
    gen_no_repeat_ngram: int = Field(3, ge=0)
    gen_repetition_penalty: float = Field(1.1, ge=1.0, le=2.0)
    gen_batch_size: int = Field(8, ge=1)
    search: SearchSpace = SearchSpace()
    seed: int = 13
