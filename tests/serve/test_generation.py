"""The service's guarded generation on a real (tiny) causal LM: busy, timeout and normal paths."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from minutes import packaged_lm
from minutes.generate.generator import Generator
from minutes.serve.generation import generate_one


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Generator:
    path = packaged_lm.ensure("packaged-smollm2-tiny", tmp_path_factory.mktemp("models"), seed=5)
    gen = Generator.from_dir(Path(path), device="cpu")
    gen.generation = {"num_beams": 1, "no_repeat_ngram_size": 0, "repetition_penalty": 1.0}
    return gen


def test_a_free_model_answers(generator: Generator) -> None:
    out = generate_one(generator, threading.Lock(), "question: what was decided?", 4, timeout_s=30, queue_s=1)
    assert out.fallback is None and out.text and out.seconds > 0


def test_a_held_model_answers_busy_without_waiting_forever(generator: Generator) -> None:
    lock = threading.Lock()
    lock.acquire()
    try:
        out = generate_one(generator, lock, "question: anything?", 4, timeout_s=30, queue_s=0.05)
    finally:
        lock.release()
    assert out.fallback == "busy" and out.text == ""


def test_a_decode_past_the_time_limit_is_flagged(generator: Generator) -> None:
    lock = threading.Lock()
    out = generate_one(generator, lock, "question: " + "talk " * 50, 2000, timeout_s=0.01, queue_s=1)
    assert out.fallback == "timeout"
    assert lock.acquire(blocking=False)  # released for the next request
