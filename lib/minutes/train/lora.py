"""LoRA through PEFT, with target modules chosen per architecture.

Causal LMs (Llama/SmolLM2, Gemma 3) adapt the four attention projections. T5 (Flan-T5) adapts
attention projections "q" and "v". A BERT-style encoder-decoder adapts
"query" and "value", and must also train its cross-attention and LM-head transform in full:
a warm-started model gets those new and random, and LoRA alone would leave them frozen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: model_type -> (target modules, modules trained in full)
ARCHITECTURES: dict[str, tuple[list[str], list[str] | None]] = {
    "llama": (["q_proj", "k_proj", "v_proj", "o_proj"], None),
    "gemma3_text": (["q_proj", "k_proj", "v_proj", "o_proj"], None),
    "gemma3": (["q_proj", "k_proj", "v_proj", "o_proj"], None),
    "qwen2": (["q_proj", "k_proj", "v_proj", "o_proj"], None),
    "t5": (["q", "v"], None),
    "mt5": (["q", "v"], None),
    "umt5": (["q", "v"], None),
    "bart": (["q_proj", "v_proj"], None),
    "encoder-decoder": (["query", "value"], ["crossattention", "transform"]),
}


@dataclass(frozen=True)
class LoraSettings:
    r: int
    alpha: int
    dropout: float = 0.05
    target_modules: list[str] | None = None


def architecture(model: Any) -> str:
    """The model_type that decides LoRA targets (BERT-style decoders count as encoder-decoder)."""
    cfg = model.config
    if cfg.model_type == "encoder-decoder":
        kinds = {cfg.encoder.model_type, cfg.decoder.model_type}
        if not kinds <= {"bert", "roberta", "electra"}:
            raise ValueError(f"encoder-decoder of {sorted(kinds)}: no LoRA targets known; "
                             "set train.lora_target_modules")
    return cfg.model_type


def lora_config(model: Any, settings: LoraSettings) -> Any:
    """A PEFT LoraConfig for `model` (targets from settings, else from the architecture table)."""
    from peft import LoraConfig, TaskType

    from minutes.generate.family import family_of

    kind = architecture(model)
    if settings.target_modules:
        targets, full = list(settings.target_modules), ARCHITECTURES.get(kind, (None, None))[1]
    elif kind in ARCHITECTURES:
        targets, full = ARCHITECTURES[kind]
    else:
        raise ValueError(f"no LoRA target modules known for model_type {kind!r}; "
                         f"set train.lora_target_modules (known: {sorted(ARCHITECTURES)})")
    return LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=list(targets), modules_to_save=list(full) if full else None,
                      task_type=TaskType.SEQ_2_SEQ_LM if family_of(model.config) == "seq2seq"
                      else TaskType.CAUSAL_LM)


def wrap(model: Any, settings: LoraSettings) -> Any:
    """Wrap `model` with LoRA. Mutates `model`: save a base copy before calling this."""
    from peft import get_peft_model

    return get_peft_model(model, lora_config(model, settings))


def parameter_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def trainable_fraction(model: Any) -> float:
    trainable, total = parameter_counts(model)
    return trainable / total if total else 0.0
