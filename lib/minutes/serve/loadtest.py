"""Load test of a running service: N requests at concurrency C, latency percentiles, throughput.

Worker threads with one keep-alive connection each (threads, not asyncio, so it runs the same in
a Jupyter kernel, which already has an event loop). Latency is measured at the client, so it
includes HTTP and queueing, which is what a user waits for.

The service remembers question vectors, so a request whose question was asked before skips the
embedding. Warm-up requests take their questions from the end of the payload list and measured
ones from the start, and the report says how many measured requests repeated a question: with
enough distinct payloads the figures are those of new questions (the costly case).
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass
class LoadReport:
    name: str
    concurrency: int
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    #: measured requests whose body was sent before in this test (served from the question cache)
    repeats: int = 0

    def summary(self) -> dict[str, Any]:
        lat = np.array([r["latency_ms"] for r in self.records]) if self.records else np.zeros(1)
        errors = sum(1 for r in self.records if not 200 <= r["status"] < 300)
        modes = sorted({r["mode"] for r in self.records if r.get("mode")})
        return {
            "test": self.name, "requests": len(self.records), "concurrency": self.concurrency,
            "errors": errors, "mode": ",".join(modes),
            "p50_ms": round(float(np.percentile(lat, 50)), 2), "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "mean_ms": round(float(lat.mean()), 2),
            "max_ms": round(float(lat.max()), 2),
            "throughput_rps": round(len(self.records) / self.seconds, 2) if self.seconds else 0.0,
            "seconds": round(self.seconds, 3), "repeated_questions": self.repeats,
        }

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.records)


def run_load(base_url: str, payloads: Sequence[dict[str, Any]], requests: int, concurrency: int,
             path: str = "/ask", warmup: int = 0, timeout_s: float = 60.0, name: str = "ask",
             progress: bool = True) -> LoadReport:
    """POST `requests` JSON bodies (cycling through `payloads`) with `concurrency` workers."""
    import httpx
    from tqdm.auto import tqdm

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    if not payloads:
        raise ValueError("run_load needs at least one payload")
    if requests < 1 or concurrency < 1:
        raise ValueError(f"requests and concurrency must be >= 1, got {requests}, {concurrency}")
    url = base_url.rstrip("/") + path
    with httpx.Client(timeout=timeout_s) as c:
        for body in itertools.islice(itertools.cycle(payloads[::-1]), warmup):
            c.post(url, json=body)
    todo = iter(enumerate(itertools.islice(itertools.cycle(payloads), requests)))
    lock = threading.Lock()
    fresh = max(0, min(requests, len(payloads) - min(warmup, len(payloads))))
    report = LoadReport(name, concurrency, repeats=requests - fresh)
    bar = tqdm(total=requests, desc=f"load {name} c={concurrency}", disable=not progress)
    t0 = time.perf_counter()

    def worker() -> None:
        with httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_connections=1)) as client:
            while True:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                i, body = item
                start = time.perf_counter()
                rec: dict[str, Any] = {"i": i, "t_s": round(start - t0, 4)}
                try:
                    resp = client.post(url, json=body)
                    rec["status"] = resp.status_code
                    if resp.status_code == 200:
                        rec["mode"] = resp.json().get("mode")
                    elif not 200 <= resp.status_code < 300:
                        rec["error"] = resp.text[:200]
                except httpx.HTTPError as exc:
                    rec["status"], rec["error"] = 0, f"{type(exc).__name__}: {exc}"[:200]
                rec["latency_ms"] = round((time.perf_counter() - start) * 1000, 3)
                with lock:
                    report.records.append(rec)
                    bar.update(1)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.seconds = time.perf_counter() - t0
    bar.close()
    report.records.sort(key=lambda r: r["i"])
    return report


def plot(reports: Sequence[LoadReport]) -> Any:
    """Latency distribution and latency over time, one colour per load test."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    for rep in reports:
        df = rep.frame()
        s = rep.summary()
        label = f"{rep.name} (c={rep.concurrency}, p95 {s['p95_ms']:.0f} ms, {s['throughput_rps']:.0f} req/s)"
        lat = df["latency_ms"].clip(lower=0.1)
        bins = np.geomspace(lat.min(), lat.max() * 1.001, 40) if lat.max() > lat.min() else 10
        ax1.hist(lat, bins=bins, alpha=0.6, label=label)
        ax2.plot(df["t_s"], df["latency_ms"], ".", ms=3, alpha=0.6, label=rep.name)
    ax1.set(xlabel="latency (ms)", ylabel="requests", title="latency distribution", xscale="log")
    ax2.set(xlabel="time since start (s)", ylabel="latency (ms)", title="latency over the run", yscale="log")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def suite_payloads(params: Any) -> list[dict[str, Any]]:
    """Enough distinct questions for the warm-up and every measured request, when the data has them."""
    from minutes.serve.payloads import load_payloads

    lt = params.serve.loadtest
    return load_payloads(params, n=lt.requests + lt.warmup)


def run_suite(params: Any, base_url: str, payloads: Sequence[dict[str, Any]], generative: bool,
              progress: bool = True, extractive: bool = True) -> list[LoadReport]:
    """The load tests of notebook 50 and `bench serve`: /ask forced extractive at
    `serve.loadtest.concurrency`, then (when a model holds the alias) forced generative."""
    lt = params.serve.loadtest
    reports = []
    if extractive:
        reports.append(run_load(base_url, [{**p, "mode": "extractive"} for p in payloads], lt.requests,
                                lt.concurrency, warmup=lt.warmup, timeout_s=lt.timeout_s, name="ask extractive",
                                progress=progress))
    if generative and lt.generative_requests > 0:
        reports.append(run_load(base_url, [{**p, "mode": "generative"} for p in payloads], lt.generative_requests,
                                lt.generative_concurrency, warmup=1, timeout_s=max(lt.timeout_s, 300.0),
                                name="ask generative", progress=progress))
    return reports


def targets(params: Any, extractive: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for extractive /ask against what was measured."""
    lt = params.serve.loadtest
    return [
        {"target": "p95 latency (ms)", "goal": f"<= {lt.target_p95_ms:g}", "measured": extractive["p95_ms"],
         "met": extractive["p95_ms"] <= lt.target_p95_ms},
        {"target": "throughput (req/s)", "goal": f">= {lt.target_rps:g}", "measured": extractive["throughput_rps"],
         "met": extractive["throughput_rps"] >= lt.target_rps},
        {"target": "errors", "goal": "0", "measured": extractive["errors"], "met": extractive["errors"] == 0},
    ]


def figures(reports: Sequence[LoadReport]) -> dict[str, float]:
    """Flat figures for run.json / MLflow: <mode>_<p50_ms|p95_ms|p99_ms|throughput_rps|errors>."""
    out: dict[str, float] = {}
    for rep in reports:
        s = rep.summary()
        key = rep.name.replace("ask ", "ask_").replace(" ", "_")
        for f in ("p50_ms", "p95_ms", "p99_ms", "throughput_rps", "errors", "requests", "concurrency"):
            out[f"{key}_{f}"] = s[f]
    return out


def minutes_timings(base_url: str, meeting_ids: Sequence[str], timeout_s: float = 300.0) -> list[dict[str, Any]]:
    """Cold `/minutes` of each meeting, one after another: seconds, and which sections the model wrote."""
    import time

    from minutes.serve.client import Client

    client = Client(base_url, timeout_s=timeout_s)
    rows = []
    for mid in meeting_ids:
        t0 = time.perf_counter()
        doc = client.minutes(mid)
        by = doc.get("written_by") or {}
        rows.append({"meeting_id": mid, "seconds": round(time.perf_counter() - t0, 2),
                     "model_sections": sum(v == "model" for v in by.values()), "sections": len(by),
                     "fallback": ", ".join(f"{k}: {v}" for k, v in (doc.get("fallback") or {}).items())})
    return rows


def minutes_figures(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """minutes_p50_s / minutes_max_s / minutes_model_share (sections written by the model)."""
    import statistics

    if not rows:
        return {}
    seconds = [r["seconds"] for r in rows]
    return {"minutes_p50_s": round(statistics.median(seconds), 2), "minutes_max_s": max(seconds),
            "minutes_model_share": round(sum(r["model_sections"] for r in rows) / max(1, sum(r["sections"] for r in rows)), 3)}
