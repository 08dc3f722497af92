"""The CTranslate2 runtime: same greedy output as torch in float32, cached conversion, time limit."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.generate import runtime as rt
from minutes.generate.generator import Generator
from tests.generate.fixtures import tiny_t5

PROMPTS = ["Answer the question. question: what was decided about the budget? transcript: Alice: we cut it.",
           "Summarize the whole meeting."]


@pytest.fixture(scope="module")
def causal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from minutes.packaged_lm import ensure

    return ensure("packaged-smollm2-tiny", tmp_path_factory.mktemp("lm"))


def _plain(path: Path) -> Generator:
    gen = Generator.from_dir(path, device="cpu")
    gen.generation = {"num_beams": 1}
    return gen


def test_causal_float32_matches_torch_greedy(causal_dir: Path, tmp_path: Path) -> None:
    gen = _plain(causal_dir)
    want = gen.generate(PROMPTS, 16)
    assert all(want), "the tiny random LM writes something (else the comparison says nothing)"
    gen.accelerate("ctranslate2", "float32", cache_root=tmp_path)
    assert gen.runtime == "ctranslate2-float32"
    assert gen.generate(PROMPTS, 16) == want
    gen.accelerate("torch")
    assert gen.runtime == "torch" and gen.generate(PROMPTS, 16) == want


def test_seq2seq_float32_matches_torch_greedy(tmp_path: Path) -> None:
    gen = _plain(tiny_t5(tmp_path / "t5", seed=4))  # seed 4 writes non-empty text on PROMPTS[0]
    want = gen.generate(PROMPTS, 12)
    assert any(want)
    gen.accelerate("ctranslate2", "float32", cache_root=tmp_path / "ct2")
    assert gen.generate(PROMPTS, 12) == want


def test_conversion_is_cached_and_a_damaged_cache_rebuilt(causal_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _plain(causal_dir)
    gen.accelerate("ctranslate2", "int8", cache_root=tmp_path)
    first = gen.generate(PROMPTS, 8)
    (converted,) = [p for p in tmp_path.iterdir() if p.name.endswith("-int8")]
    calls = []
    import ctranslate2.converters as conv  # convert() imports the converter from here at call time

    original = conv.TransformersConverter

    class Counting(original):  # type: ignore[misc, valid-type]
        def convert(self, *a, **k):  # noqa: ANN002, ANN003
            calls.append(1)
            return super().convert(*a, **k)

    monkeypatch.setattr(conv, "TransformersConverter", Counting)
    gen.accelerate("ctranslate2", "int8", cache_root=tmp_path)
    assert calls == [] and gen.generate(PROMPTS, 8) == first
    model_bin = converted / "model.bin"
    model_bin.write_bytes(model_bin.read_bytes()[:1000])  # a torn write
    gen.accelerate("ctranslate2", "int8", cache_root=tmp_path)
    assert calls == [1] and gen.generate(PROMPTS, 8) == first


def test_other_weights_get_another_cache_entry(causal_dir: Path, tmp_path: Path) -> None:
    a = rt.source_digest([causal_dir])
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in causal_dir.iterdir():
        if f.is_file():
            (copy / f.name).write_bytes(f.read_bytes())
    assert rt.source_digest([copy]) == a
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert rt.source_digest([copy]) != a


def test_max_time_stops_decoding(causal_dir: Path, tmp_path: Path) -> None:
    gen = _plain(causal_dir)
    gen.accelerate("ctranslate2", "float32", cache_root=tmp_path)
    full = gen.tokenizer(gen.generate(PROMPTS[:1], 200)[0], add_special_tokens=False)["input_ids"]
    cut = gen.tokenizer(gen.generate(PROMPTS[:1], 200, max_time=0.0)[0], add_special_tokens=False)["input_ids"]
    assert len(full) > 20 and len(cut) <= 2


def test_unknown_runtime_is_refused(causal_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown generation runtime"):
        _plain(causal_dir).accelerate("onnx")


def test_a_model_with_fewer_embeddings_than_token_ids_is_refused(tmp_path: Path) -> None:
    """A checkpoint whose embedding table is smaller than its tokenizer: torch raises on such ids,
    CTranslate2 would read past the table silently, so it is refused before conversion."""
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    cfg = T5Config(vocab_size=64, d_model=32, d_ff=64, d_kv=8, num_layers=1, num_decoder_layers=1, num_heads=2,
                   decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, relative_attention_num_buckets=8)
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "m")
    ByT5Tokenizer().save_pretrained(tmp_path / "m")
    gen = Generator.from_dir(tmp_path / "m", device="cpu")
    with pytest.raises(ValueError, match="64 embedding rows for a tokenizer of 384"):
        gen.accelerate("ctranslate2", "int8", 1, tmp_path / "ct2")
    assert not (tmp_path / "ct2").exists() or not any((tmp_path / "ct2").iterdir())


def test_prompts_decode_alone_side_by_side_with_the_answer_of_each_alone(causal_dir: Path, tmp_path: Path) -> None:
    """Two workers of one thread each; a prompt's answer does not depend on what it is decoded
    beside, nor on how many workers there are, and concurrent callers share the engine."""
    from concurrent.futures import ThreadPoolExecutor

    gen = _plain(causal_dir)
    gen.accelerate("ctranslate2", "int8", threads=2, cache_root=tmp_path)
    assert gen.fast.parallel == 2
    prompts = PROMPTS + [f"question: what about item {i}?" for i in range(4)]
    alone = [gen.generate([p], 12)[0] for p in prompts]
    assert gen.generate(prompts, 12, batch_size=8) == alone
    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(lambda p: gen.generate([p], 12)[0], prompts)) == alone
    gen.accelerate("ctranslate2", "int8", threads=1, cache_root=tmp_path)
    assert gen.fast.parallel == 1 and gen.generate(prompts, 12, batch_size=8) == alone
