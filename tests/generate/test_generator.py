"""`Generator` on a tiny T5 (the Flan-T5 code path): loading, batching, and clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.config import load_params
from minutes.generate.base import read_model_meta, write_model_meta
from minutes.generate.generator import Generator
from minutes.generate.registry import copy_model_dir, resolve_version
from tests.generate.fixtures import tiny_t5


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tiny_t5(tmp_path_factory.mktemp("gen") / "t5")
    write_model_meta(path, {"max_source_tokens": 64, "max_target_tokens": 6, "generation": {"num_beams": 1}})
    return path


def test_full_model_dir_loads_with_saved_settings(t5_dir: Path) -> None:
    gen = Generator.from_dir(t5_dir, device="cpu", version="7")
    assert (gen.max_source_tokens, gen.max_new_tokens, gen.version) == (64, 6, "7")
    assert gen.generation["num_beams"] == 1 and gen.generation["no_repeat_ngram_size"] == 3


def test_batched_generation_keeps_prompt_order(t5_dir: Path) -> None:
    gen = Generator.from_dir(t5_dir, device="cpu")
    gen.generation = {"num_beams": 1}  # greedy: deterministic
    prompts = ["a much longer prompt than the others, " * 3, "short", "medium length prompt"]
    one_by_one = [gen.generate([p])[0] for p in prompts]
    assert gen.generate(prompts, batch_size=2) == one_by_one


def test_generate_rejects_bad_input(t5_dir: Path) -> None:
    gen = Generator.from_dir(t5_dir, device="cpu")
    with pytest.raises(TypeError, match="list of prompts"):
        gen.generate("one prompt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        gen.generate(["x"], batch_size=0)


def test_missing_model_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model directory"):
        Generator.from_dir(tmp_path / "nothing")


def test_model_meta_roundtrip_and_bad_meta(tmp_path: Path) -> None:
    write_model_meta(tmp_path, {"base_model": "x", "seed": 3})
    assert read_model_meta(tmp_path) == {"base_model": "x", "seed": 3}
    (tmp_path / "minutes_model.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        read_model_meta(tmp_path)
    assert read_model_meta(tmp_path / "absent") == {}


def test_copy_model_dir_skips_optimizer_state(t5_dir: Path, tmp_path: Path) -> None:
    (t5_dir / "state.pt").write_bytes(b"optimizer")
    try:
        out = copy_model_dir(t5_dir, tmp_path / "best")
    finally:
        (t5_dir / "state.pt").unlink()
    assert (out / "config.json").is_file() and not (out / "state.pt").exists()


def test_model_uri_of_another_model_is_refused(tmp_path: Path) -> None:
    params = load_params("ci", [f"work_dir={tmp_path}", "train.registered_model=mine"])
    with pytest.raises(ValueError, match="not a version of 'mine'"):
        resolve_version(params, "models:/theirs/3")
