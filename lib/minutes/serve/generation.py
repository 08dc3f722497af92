"""Generation fit to serve: one model instance per process, a bounded wait, a bounded decode.

A CPU model is not re-entrant and two decodes in parallel only share the same cores, so requests
take turns through one lock. A request that cannot get the model within `serve.generate_queue_s`
("busy") or whose decode runs into `serve.generate_timeout_s` ("timeout"), or whose model wrote
nothing ("empty"), gets the extractive answer with that flag instead of a hang or a 5xx.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

Fallback = Literal["busy", "timeout", "empty"]


@dataclass
class Generated:
    text: str
    seconds: float
    fallback: Fallback | None = None


def generate_one(generator: Any, lock: threading.Lock, prompt: str, max_new_tokens: int, timeout_s: float,
                 queue_s: float) -> Generated:
    """Generate for one prompt under the service's lock and time limits."""
    t0 = time.perf_counter()
    if not lock.acquire(timeout=queue_s):
        return Generated("", time.perf_counter() - t0, "busy")
    try:
        start = time.perf_counter()
        [text] = generator.generate([prompt], max_new_tokens=max_new_tokens, max_time=timeout_s)
        spent = time.perf_counter() - start
    finally:
        lock.release()
    text = text.strip()
    # transformers' max_time stops decoding at the limit: an answer cut there is not one
    fallback: Fallback | None = "timeout" if spent >= timeout_s else ("empty" if not text else None)
    return Generated(text, time.perf_counter() - t0, fallback)
