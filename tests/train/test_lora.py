"""LoRA wrapping and training on the two code paths: Flan-T5 (a tiny T5 built here) and the
encoder-decoder warm-started from the packaged MiniLM. Real PEFT, real optimiser steps."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.train.loop import encode, eos_id, eval_loss, make_optimizer, rouge_l, train_epoch
from minutes.train.lora import LoraSettings, lora_config, parameter_counts, trainable_fraction, wrap
from minutes.train.trial import TrialSetup, save_checkpoint
from tests.generate.fixtures import tiny_t5

PAIRS = [{"source": f"question: what is item {i}? transcript: Alice: item {i} is {w}.", "target": w}
         for i, w in enumerate(["red", "blue", "green", "small", "large", "fast", "slow", "round"])]


def _load(path: Path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path)), AutoModelForSeq2SeqLM.from_pretrained(str(path))


def _train(model, tok, steps: int, lr: float, max_source: int = 96, max_target: int = 16) -> tuple[float, float]:
    """Eval loss on PAIRS before and after `steps` epochs of training on them."""
    import torch

    torch.manual_seed(0)
    data = encode(PAIRS, tok, max_source, max_target, eos_id(model, tok))
    pad = int(tok.pad_token_id or 0)
    before = eval_loss(model, data, 8, pad)
    opt, sched = make_optimizer(model, lr, 0.0, steps, 0.0)
    for step in range(steps):
        train_epoch(model, data, 8, pad, opt, sched, seed=step)
    return before, eval_loss(model, data, 8, pad)


def _setup(base: Path) -> TrialSetup:
    return TrialSetup(base_model=str(base), base_path=str(base), train_pairs=[], val_pairs=[], rouge_slice=1,
                      max_source_tokens=96, max_target_tokens=16, generation={"num_beams": 1})


def test_t5_lora_targets_trains_saves_and_generates(tmp_path: Path) -> None:
    import torch

    from minutes.generate.generator import Generator

    base = tiny_t5(tmp_path / "t5")
    tok, model = _load(base)
    settings = LoraSettings(r=4, alpha=8, dropout=0.0)
    cfg = lora_config(model, settings)
    assert sorted(cfg.target_modules) == ["q", "v"] and not cfg.modules_to_save
    peft_model = wrap(model, settings)
    trainable, total = parameter_counts(peft_model)
    assert 0 < trainable < total
    names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert all(any(f".{m}.lora_" in n for m in ("q", "v")) for n in names)

    before, after = _train(peft_model, tok, steps=8, lr=5e-2)
    assert after < before * 0.9, (before, after)

    out = tmp_path / "adapter"
    save_checkpoint(peft_model, tok, _setup(base), {"lora_r": 4, "lora_alpha": 8}, out, {"epoch": 1})
    assert (out / "adapter_config.json").is_file() and (out / "minutes_model.json").is_file()
    gen = Generator.from_dir(out, device="cpu")
    # the merged model computes what the trained adapter computes
    batch = tok([PAIRS[0]["source"]], return_tensors="pt")
    labels = tok([PAIRS[0]["target"]], return_tensors="pt")["input_ids"]
    peft_model.eval()
    with torch.inference_mode():
        want = peft_model(**batch, labels=labels).loss
        got = gen.model(**batch, labels=labels).loss
    assert torch.allclose(want, got, atol=1e-4)
    texts = gen.generate([p["source"] for p in PAIRS[:3]], max_new_tokens=8)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)


def test_unknown_architecture_needs_explicit_targets(tmp_path: Path) -> None:
    class Cfg:
        model_type = "mystery"

    class Model:
        config = Cfg()

    with pytest.raises(ValueError, match="train.lora_target_modules"):
        lora_config(Model(), LoraSettings(r=4, alpha=8))
    assert lora_config(Model(), LoraSettings(r=4, alpha=8, target_modules=["q"])).target_modules == {"q"}


def test_rouge_l_scores_and_checks_lengths() -> None:
    assert rouge_l(["the cat sat"], ["the cat sat"]) == pytest.approx(100.0)
    assert rouge_l(["dogs"], ["the cat sat"]) == 0.0
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        rouge_l(["a", "b"], ["a"])


def test_encode_truncates_and_ends_targets_with_eos(tmp_path: Path) -> None:
    tok, model = _load(tiny_t5(tmp_path / "t5"))
    eos = eos_id(model, tok)
    data = encode([{"source": "x" * 500, "target": "y" * 100}], tok, 64, 16, eos)
    assert len(data.input_ids[0]) == 64
    assert len(data.labels[0]) == 16 and data.labels[0][-1] == eos


@pytest.mark.slow
def test_minilm_encoder_decoder_base_is_cached_and_trains_with_lora(tmp_path: Path) -> None:
    from minutes.generate.base import ensure_packaged_minilm_ed
    from minutes.generate.generator import Generator

    path = ensure_packaged_minilm_ed(tmp_path / "cache", seed=13)
    stamp = (path / "minutes_base.json").stat().st_mtime_ns
    assert ensure_packaged_minilm_ed(tmp_path / "cache", seed=13) == path  # built once, reused
    assert (path / "minutes_base.json").stat().st_mtime_ns == stamp
    tok, model = _load(path)
    assert model.config.decoder_start_token_id == tok.cls_token_id
    assert model.generation_config.eos_token_id == tok.sep_token_id
    settings = LoraSettings(r=8, alpha=16, dropout=0.0)
    cfg = lora_config(model, settings)
    assert sorted(cfg.target_modules) == ["query", "value"]
    assert "crossattention" in cfg.modules_to_save
    peft_model = wrap(model, settings)
    fraction = trainable_fraction(peft_model)
    assert 0.03 < fraction < 0.2, fraction  # LoRA + the new cross-attention, not the whole model
    assert any("crossattention" in n and p.requires_grad for n, p in peft_model.named_parameters())

    before, after = _train(peft_model, tok, steps=4, lr=1e-3)
    assert after < before, (before, after)

    out = tmp_path / "adapter"
    save_checkpoint(peft_model, tok, _setup(path), {"lora_r": 8, "lora_alpha": 16}, out, {"epoch": 1})
    gen = Generator.from_dir(out, device="cpu")
    texts = gen.generate([PAIRS[0]["source"]], max_new_tokens=6)
    assert len(texts) == 1 and isinstance(texts[0], str)
