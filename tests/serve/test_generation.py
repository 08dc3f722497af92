"""The service's model worker on a real (tiny) causal LM: batching, busy, timeout and error paths."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from minutes import packaged_lm
from minutes.generate.generator import Generator
from minutes.serve.generation import GenerationQueue


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Generator:
    path = packaged_lm.ensure("packaged-smollm2-tiny", tmp_path_factory.mktemp("models"), seed=5)
    gen = Generator.from_dir(Path(path), device="cpu")
    gen.generation = {"num_beams": 1, "no_repeat_ngram_size": 0, "repetition_penalty": 1.0}
    return gen


class Counting:
    """The real generator, counting how many prompts each call decodes together."""

    def __init__(self, inner: Generator, hold: threading.Event | None = None) -> None:
        self.inner, self.hold, self.calls = inner, hold, []

    def generate(self, prompts, max_new_tokens=None, **kw):
        self.calls.append(len(prompts))
        if self.hold is not None:
            self.hold.wait(10)
        return self.inner.generate(prompts, max_new_tokens, **kw)


def test_a_free_model_answers_as_it_would_alone(generator: Generator) -> None:
    q = GenerationQueue()
    out = q.generate(generator, "question: what was decided?", 4, timeout_s=30, queue_s=1)
    assert out.fallback is None and out.text == generator.generate(["question: what was decided?"], 4)[0]


def test_concurrent_requests_are_decoded_together(generator: Generator) -> None:
    hold = threading.Event()
    counting = Counting(generator, hold)
    q = GenerationQueue(max_batch=4, window_s=0.2)
    prompts = [f"question: item {i}?" for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(q.generate, counting, p, 4, 30, 5) for p in prompts]
        hold.set()
        outs = [f.result() for f in futures]
    assert sum(counting.calls) == 3 and max(counting.calls) >= 2
    assert [o.text for o in outs] == [generator.generate([p], 4)[0].strip() for p in prompts]


def test_a_busy_model_answers_busy_without_waiting_forever(generator: Generator) -> None:
    hold = threading.Event()
    slow = Counting(generator, hold)
    q = GenerationQueue(max_batch=1, window_s=0.0)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(q.generate, slow, "question: first?", 4, 30, 5)
        while not slow.calls:
            threading.Event().wait(0.01)
        out = q.generate(generator, "question: second?", 4, timeout_s=30, queue_s=0.05)
        hold.set()
        assert first.result().fallback is None
    assert out.fallback == "busy" and out.text == ""
    assert q.generate(generator, "question: third?", 4, 30, 5).fallback is None  # the skipped job left no trace


def test_a_decode_past_the_time_limit_is_flagged(generator: Generator) -> None:
    out = GenerationQueue().generate(generator, "question: " + "talk " * 50, 2000, timeout_s=0.01, queue_s=1)
    assert out.fallback == "timeout"


def test_a_failing_model_raises_to_its_caller_and_the_worker_survives(generator: Generator) -> None:
    class Broken:
        def generate(self, *a, **k):
            raise RuntimeError("weights are gone")

    q = GenerationQueue()
    with pytest.raises(RuntimeError, match="weights are gone"):
        q.generate(Broken(), "question?", 4, 30, 1)
    assert q.generate(generator, "question: after?", 4, 30, 1).fallback is None


def test_two_workers_decode_two_requests_at_once_each_alone(generator: Generator) -> None:
    """The CTranslate2 service's queue: a worker per core, one request each (no batching)."""
    hold = threading.Event()
    counting = Counting(generator, hold)
    q = GenerationQueue(max_batch=1, window_s=0.0, workers=2)
    prompts = ["question: first?", "question: second?"]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(q.generate, counting, p, 4, 30, 5) for p in prompts]
        for _ in range(200):  # both calls in flight while the first is still held
            if len(counting.calls) == 2:
                break
            threading.Event().wait(0.02)
        in_flight = len(counting.calls)
        hold.set()
        outs = [f.result() for f in futures]
    assert in_flight == 2 and counting.calls == [1, 1]
    assert [o.text for o in outs] == [generator.generate([p], 4)[0].strip() for p in prompts]


def test_the_service_queue_follows_the_runtime() -> None:
    from minutes.config import load_params

    ct2 = GenerationQueue.for_params(load_params("ci", ["serve.runtime=ctranslate2", "serve.torch_threads=2"]))
    assert (ct2.max_batch, len(ct2._workers)) == (1, 2)
    torch_q = GenerationQueue.for_params(load_params("ci", ["serve.runtime=torch"]))
    assert torch_q.max_batch > 1 and len(torch_q._workers) == 1
