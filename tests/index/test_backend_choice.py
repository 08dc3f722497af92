"""`index.backend: auto` is decided by timing torch against OpenVINO on this machine, once."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.config.index import IndexParams
from minutes.index import backend_choice
from minutes.index.embed import load_embedder


def test_the_rule_takes_openvino_only_faster_and_with_torchs_vectors() -> None:
    assert backend_choice.decide(1.21, 1.0) == "openvino"
    assert backend_choice.decide(1.05, 1.0) == "torch"  # within timing noise: keep the reference
    assert backend_choice.decide(3.8, 0.99) == "torch"  # faster, but other vectors (int8-like)
    assert backend_choice.decide(backend_choice.MIN_SPEEDUP, backend_choice.MIN_COSINE) == "openvino"


def test_auto_is_measured_once_and_every_later_caller_reads_the_verdict(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    index = IndexParams(backend="auto", batch_size=8)
    verdict = backend_choice.choose(index, tmp_path, load_embedder, threads=1)
    assert verdict["backend"] == backend_choice.decide(verdict["speedup"], verdict["cosine_min"])
    assert verdict["cosine_min"] > 0.999  # the same model, run by another runtime
    assert verdict["torch_chunks_per_s"] > 0 and verdict["openvino_chunks_per_s"] > 0
    assert verdict["probe"] == "built-in texts" and verdict["probe_texts"] == len(backend_choice.PROBE_WORDS)
    assert (tmp_path / backend_choice.FOLDER / f"{verdict['key']}.json").is_file()

    def no_second_measurement(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(backend_choice, "measure", no_second_measurement)
    assert backend_choice.choose(index, tmp_path, load_embedder, threads=1) == verdict
    assert load_embedder(index, tmp_path, threads=1).info.backend == verdict["backend"]


def test_the_verdict_is_keyed_by_what_it_depends_on() -> None:
    base = backend_choice.choice_key(IndexParams(), 0)
    assert base == backend_choice.choice_key(IndexParams(), 0)
    assert backend_choice.choice_key(IndexParams(max_seq_length=256), 0) != base
    assert backend_choice.choice_key(IndexParams(openvino_precision="f32"), 0) != base
    assert backend_choice.choice_key(IndexParams(), 1) != base


def test_a_corpus_sample_spans_its_lengths() -> None:
    texts = [" ".join(["w"] * n) for n in range(1, 101)]
    sample = backend_choice.spread(texts, 5)
    assert [len(t.split()) for t in sample] == [11, 31, 51, 71, 91]
    assert backend_choice.spread(texts[:3], 5) == texts[:3]


def test_auto_is_cpu_only() -> None:
    with pytest.raises(ValueError, match="runs on CPU"):
        IndexParams(backend="auto", device="cuda")
