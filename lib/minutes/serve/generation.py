"""Generation fit to serve: one model instance per process, a small queue, bounded waits.

With the CTranslate2 runtime (local profile) `serve.torch_threads` workers each decode one
request on one thread, side by side (minutes.generate.runtime: on 2 cores two answers decoded
that way take 1.2 s each, against 4.1 s batched together). The torch runtime is not re-entrant
and a decode spreads over the cores itself, so one worker owns the model and requests that
arrive together are decoded as one batch. A request that is not started within `serve.generate_queue_s`
("busy"), whose decode runs into `serve.generate_timeout_s` ("timeout"), or whose model wrote
nothing ("empty") gets the extractive answer with that flag instead of a hang or a 5xx.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

Fallback = Literal["busy", "timeout", "empty"]


@dataclass
class Generated:
    text: str
    seconds: float
    fallback: Fallback | None = None


@dataclass
class _Job:
    generator: Any
    prompt: str
    max_new_tokens: int
    timeout_s: float
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    text: str = ""
    timed_out: bool = False
    error: BaseException | None = None


class GenerationQueue:
    """The one model worker of a service process; `generate` is safe to call from any thread."""

    def __init__(self, max_batch: int = 4, window_s: float = 0.02, workers: int = 1) -> None:
        self.max_batch = max(1, int(max_batch))
        self.window_s = window_s
        self._jobs: "queue.Queue[_Job]" = queue.Queue()
        self._lock = threading.Lock()  # guards the cancel/start race of one job
        self._workers = [threading.Thread(target=self._run, name=f"generation-{i}", daemon=True)
                         for i in range(max(1, int(workers)))]
        for w in self._workers:
            w.start()

    @classmethod
    def for_params(cls, params: Any) -> "GenerationQueue":
        """The service's: one request per worker, `serve.torch_threads` of them, on CTranslate2;
        one batching worker on torch."""
        if params.serve.runtime == "ctranslate2":
            return cls(max_batch=1, window_s=0.0, workers=params.serve.torch_threads)
        return cls()

    def generate(self, generator: Any, prompt: str, max_new_tokens: int, timeout_s: float,
                 queue_s: float) -> Generated:
        t0 = time.perf_counter()
        job = _Job(generator, prompt, int(max_new_tokens), float(timeout_s))
        self._jobs.put(job)
        if not job.started.wait(queue_s):
            with self._lock:
                if not job.started.is_set():
                    job.cancelled = True
                    return Generated("", time.perf_counter() - t0, "busy")
        job.done.wait()
        if job.error is not None:
            raise job.error
        text = job.text.strip()
        fallback: Fallback | None = "timeout" if job.timed_out else ("empty" if not text else None)
        return Generated(text, time.perf_counter() - t0, fallback)

    def _take_batch(self) -> list[_Job]:
        batch = [self._jobs.get()]
        deadline = time.perf_counter() + self.window_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self._jobs.get(timeout=max(0.0, deadline - time.perf_counter())))
            except queue.Empty:
                break
        with self._lock:
            live = [j for j in batch if not j.cancelled]
            for j in live:
                j.started.set()
        return live

    def _run(self) -> None:
        while True:
            live = self._take_batch()
            groups: dict[tuple[int, int], list[_Job]] = {}
            for j in live:  # a model swap mid-queue: each job keeps the generator it was given
                groups.setdefault((id(j.generator), j.max_new_tokens), []).append(j)
            for jobs in groups.values():
                self._decode(jobs)

    @staticmethod
    def _decode(jobs: list[_Job]) -> None:
        limit = min(j.timeout_s for j in jobs)
        start = time.perf_counter()
        try:
            texts = jobs[0].generator.generate([j.prompt for j in jobs], jobs[0].max_new_tokens,
                                               batch_size=len(jobs), progress=False, max_time=limit)
        except Exception as exc:  # the callers get it; the worker lives on
            log.exception("generation failed")
            for j in jobs:
                j.error = exc
                j.done.set()
            return
        timed_out = time.perf_counter() - start >= limit  # max_time stops decoding at the limit
        for j, text in zip(jobs, texts):
            j.text, j.timed_out = text, timed_out
            j.done.set()
