"""Parameters of LoRA fine-tuning under Ray Tune (30_train)."""
from __future__ import annotations

from pydantic import Field

from minutes.config.base import Section


class SearchSpace(Section):
    lr: list[float] = [1e-4, 1e-3]
    lora_r: list[int] = [8, 16]
    lora_alpha: list[int] = [16, 32]
    epochs: list[int] = [1, 2]
    batch_size: list[int] = [8]


class TrainParams(Section):
    #: "packaged-minilm-ed" = encoder-decoder warm-started from the packaged MiniLM (offline);
    #: otherwise any AutoModelForSeq2SeqLM name or path, e.g. "google/flan-t5-large".
    base_model: str = "packaged-minilm-ed"
    registered_model: str = "minutes-generator"
    max_source_tokens: int = Field(384, ge=16)
    max_target_tokens: int = Field(96, ge=8)
    retrieved_chunks: int = Field(3, ge=1)
    max_train_pairs: int | None = None
    max_val_pairs: int | None = None
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    num_samples: int = Field(4, ge=1)
    max_concurrent: int = Field(2, ge=1)
    cpus_per_trial: float = Field(1, gt=0)
    gpus_per_trial: float = Field(0, ge=0)
    bf16: bool = False
    asha_grace_period: int = Field(1, ge=1)
    rouge_val_slice: int = Field(16, ge=1)
    search: SearchSpace = SearchSpace()
    seed: int = 13
