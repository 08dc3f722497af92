"""Simulated users of a deployed service: questions arrive as a Poisson process, phase after phase
(in-domain, then drifted), and some users rate the answer they got through POST /feedback.

Why open loop: real users do not wait for each other, so arrivals follow their own clock (Poisson,
optionally with bursts, drawn by thinning) and a slow service shows up as latency and requests in
flight, not as a politely lower rate. httpx's async client sends them (one event loop in a worker
thread, so it runs the same inside a Jupyter kernel, which has a loop of its own); at most
`max_in_flight` requests are outstanding, and a phase whose arrivals had to wait says so in its
achieved rate and lag.

Questions the service was not tuned on: in-domain ones are the evaluation split's (QMSum val)
outside the held-back domain; held-back ones are that domain's; off-topic ones are a hand-written
list (offtopic_questions.yml). A user's rating comes from ROUGE-L of the answer against the gold
answer (the project's ROUGE, minutes.evaluate.scoring) plus seeded Gaussian noise. Every random
draw (question, arrival, whether and how a user rates) is made up front from one seed, so a run
is reproducible up to the service's answers.
"""
from __future__ import annotations

import math

import asyncio
import ipaddress
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import yaml

from minutes.config.monitor import PhaseParams, SimulateParams


class NotLoopback(ValueError):
    """The target URL is not on this machine and remote targets were not allowed."""


def check_loopback(url: str, allow_remote: bool = False) -> None:
    host = urlsplit(url).hostname or ""
    if allow_remote:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise NotLoopback(f"refusing to send simulated traffic to {host!r}: only loopback hosts "
                          "(127.0.0.0/8, ::1, localhost) unless monitor.simulate.allow_remote=true")


def offtopic_questions() -> list[str]:
    text = resources.files("minutes.online").joinpath("offtopic_questions.yml").read_text(encoding="utf-8")
    return list(yaml.safe_load(text)["questions"])


def question_pools(queries: Sequence[dict[str, Any]], split: str, held_back: str) -> dict[str, list[dict[str, Any]]]:
    """{source: questions} from ETL queries (minutes.schema.Query rows): in-domain = `split`
    outside `held_back`; held-back = `held_back` in any split; off-topic = the packaged list."""
    keep = ("query_id", "meeting_id", "query", "answer", "domain")
    in_domain = [{k: q[k] for k in keep} for q in queries if q["split"] == split and q["domain"] != held_back]
    drifted = [{k: q[k] for k in keep} for q in queries if q["domain"] == held_back]
    off = [{"query_id": f"offtopic/{i}", "meeting_id": None, "query": t, "answer": None, "domain": "off-topic"}
           for i, t in enumerate(offtopic_questions())]
    return {"in-domain": in_domain, "held-back": drifted, "off-topic": off}


def arrivals(rng: np.random.Generator, phase: PhaseParams) -> np.ndarray:
    """Arrival offsets (s) of a Poisson process of `phase.rate`, multiplied by `burst_factor` in
    the first `burst_s` of every `burst_every_s`, conditioned on its expected count: exactly
    round(rate x duration) arrivals (bursts included), each placed independently by the rate's
    shape (the order statistics of a Poisson process given its count). Gaps stay exponential,
    and a phase sends what it is configured to, so its achieved rate measures the load
    generator and the service, not the luck of the draw (unconditioned, 30 s at 20/s sends
    600 +- 24.5). Cut at `max_requests`."""
    factor = phase.burst_factor if phase.burst_every_s else 1.0
    if phase.burst_every_s:
        cycles, rest = divmod(phase.duration_s, phase.burst_every_s)
        burst_time = cycles * phase.burst_s + min(rest, phase.burst_s)
    else:
        burst_time = 0.0
    expected = phase.rate * (phase.duration_s - burst_time) + phase.rate * factor * burst_time
    n = int(round(expected))
    out = np.zeros(0)
    while len(out) < n:  # thinning: uniform candidates kept with probability rate(t) / peak
        t = rng.uniform(0.0, phase.duration_s, size=2 * (n - len(out)) * int(math.ceil(factor)) + 16)
        if phase.burst_every_s:
            in_burst = (t % phase.burst_every_s) < phase.burst_s
            t = t[rng.random(len(t)) < np.where(in_burst, 1.0, 1.0 / factor)]
        out = np.concatenate([out, t])
    t = np.sort(out[:n])
    return t[: phase.max_requests] if phase.max_requests else t


@dataclass
class Planned:
    """One simulated user: when they ask, what, and whether and how they will rate the answer."""

    phase: str
    source: str
    offset_s: float
    question: dict[str, Any]
    rates: bool
    noise: float


def plan(pools: dict[str, list[dict[str, Any]]], cfg: SimulateParams) -> list[list[Planned]]:
    """Every draw of the run, phase by phase, from `cfg.seed`."""
    rng = np.random.default_rng(cfg.seed)
    out = []
    for n, phase in enumerate(cfg.phases):
        pool = pools.get(phase.source) or []
        if not pool:
            raise ValueError(f"phase {n} ({phase.source}): no questions (for held-back: is "
                             "monitor.held_back_domain a domain of the ETL queries?)")
        times = arrivals(rng, phase)
        order = np.concatenate([rng.permutation(len(pool)) for _ in range(len(times) // len(pool) + 1)])
        rates = rng.random(len(times)) < cfg.feedback_share
        noise = rng.normal(0.0, cfg.rating_noise, len(times)) if cfg.rating_noise else np.zeros(len(times))
        name = f"{n + 1}:{phase.source}"
        out.append([Planned(name, phase.source, float(t), pool[int(order[i])], bool(rates[i]), float(noise[i]))
                    for i, t in enumerate(times)])
    return out


@dataclass
class SimulationResult:
    records: pd.DataFrame
    phases: list[dict[str, Any]] = field(default_factory=list)

    def spans(self) -> pd.DataFrame:
        """Per phase: its name and wall-clock start and end (epoch seconds), to cut series by."""
        return pd.DataFrame([{k: ph[k] for k in ("phase", "start", "end")} for ph in self.phases])

    def summary(self) -> pd.DataFrame:
        """Per phase: sent, achieved rate, status counts, latency percentiles, feedback."""
        rows = []
        for ph in self.phases:
            r = self.records[self.records["phase"] == ph["phase"]]
            lat = r["latency_ms"].dropna().to_numpy()
            pct = np.percentile(lat, [50, 95, 99]) if len(lat) else [np.nan] * 3
            status = r["status"].fillna(0).astype(int)
            rated = r[r["feedback_status"].notna()]
            rows.append({
                "phase": ph["phase"], "target_rps": ph["rate"], "sent": len(r),
                "seconds": round(ph["seconds"], 2), "achieved_rps": round(len(r) / ph["seconds"], 2) if ph["seconds"] else 0.0,
                "max_lag_ms": round(float(r["lag_ms"].max()), 1) if len(r) else 0.0,
                "2xx": int(((status >= 200) & (status < 300)).sum()), "4xx": int(((status >= 400) & (status < 500)).sum()),
                "5xx": int((status >= 500).sum()), "failed": int((status == 0).sum()),
                "p50_ms": round(float(pct[0]), 1), "p95_ms": round(float(pct[1]), 1), "p99_ms": round(float(pct[2]), 1),
                "rated": len(rated), "feedback_2xx": int(rated["feedback_status"].between(200, 299).sum()),
                "up_share": round(float((rated["rating"] == "up").mean()), 3) if len(rated) else np.nan,
                "mean_rougeL": round(float(rated["rougeL"].dropna().mean()), 2) if rated["rougeL"].notna().any() else np.nan,
            })
        return pd.DataFrame(rows)


class _Rater:
    """ROUGE-L of answers against gold answers, in one worker thread (the metric is not
    thread-safe, and scoring must not stall the event loop that keeps arrivals on time)."""

    def __init__(self, hf_home: Path | None) -> None:
        from minutes.evaluate.scoring import load_rouge

        self.metric = load_rouge(hf_home)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="rouge")

    def _score(self, answer: str, gold: str) -> float:
        from minutes.evaluate.scoring import per_example

        return per_example(self.metric, [answer], [gold])["rougeL"][0]

    async def score(self, answer: str, gold: str) -> float:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._score, answer, gold)

    def close(self) -> None:
        self.pool.shutdown(wait=False)


async def _one(client: Any, p: Planned, cfg: SimulateParams, rater: _Rater, scheduled: float,
               t0: float) -> dict[str, Any]:
    q = p.question
    body: dict[str, Any] = {"question": q["query"], "mode": cfg.mode}
    if cfg.with_meeting_id and q.get("meeting_id"):
        body["meeting_id"] = q["meeting_id"]
    rec: dict[str, Any] = {"phase": p.phase, "source": p.source, "query_id": q["query_id"], "domain": q["domain"],
                           "sent_s": round(time.perf_counter() - t0, 4),
                           "lag_ms": round((time.perf_counter() - scheduled) * 1000, 2),
                           "status": None, "latency_ms": None, "error": None, "answer_id": None, "mode": None,
                           "top1": None, "rougeL": None, "rating": None, "feedback_status": None}
    start = time.perf_counter()
    try:
        resp = await client.post("/ask", json=body)
    except Exception as exc:  # a refused or timed-out request is a result, not a crash
        rec.update(error=type(exc).__name__, latency_ms=round((time.perf_counter() - start) * 1000, 2))
        return rec
    rec.update(status=resp.status_code, latency_ms=round((time.perf_counter() - start) * 1000, 2))
    if resp.status_code != 200:
        return rec
    out = resp.json()
    sources = out.get("sources") or []
    rec.update(answer_id=out.get("answer_id"), mode=out.get("mode"), top1=sources[0]["score"] if sources else None)
    if not (p.rates and rec["answer_id"]):
        return rec
    if q.get("answer"):
        rec["rougeL"] = round(await rater.score(out.get("answer") or "", q["answer"]), 3)
    score = (rec["rougeL"] or 0.0) + p.noise
    rec["rating"] = "up" if score >= cfg.rating_threshold else "down"
    try:
        fb = await client.post("/feedback", json={"answer_id": rec["answer_id"], "rating": rec["rating"]})
        rec["feedback_status"] = fb.status_code
    except Exception as exc:
        rec.update(feedback_status=0, error=f"feedback: {type(exc).__name__}")
    return rec


async def _arrive(scheduled: float, stop: threading.Event | None) -> bool:
    """Sleep until `scheduled` (perf_counter); False when `stop` is set first (looked at every 0.1 s)."""
    while stop is None or not stop.is_set():
        delay = scheduled - time.perf_counter()
        if delay <= 0:
            return True
        await asyncio.sleep(min(delay, 0.1) if stop is not None else delay)
    return False


async def _run(url: str, planned: list[list[Planned]], cfg: SimulateParams, rater: _Rater,
               stop: threading.Event | None = None) -> SimulationResult:
    import httpx

    # keep-alive shorter than uvicorn's 5 s: reusing a connection the server is closing is a ReadError
    limits = httpx.Limits(max_connections=cfg.max_in_flight, max_keepalive_connections=cfg.max_in_flight,
                          keepalive_expiry=2.0)
    records: list[dict[str, Any]] = []
    phases = []
    gate = asyncio.Semaphore(cfg.max_in_flight)
    async with httpx.AsyncClient(base_url=url, timeout=cfg.timeout_s, limits=limits, trust_env=False) as client:
        for phase_cfg, users in zip(cfg.phases, planned):
            t0, started = time.perf_counter(), time.time()

            async def guarded(p: Planned, scheduled: float) -> dict[str, Any]:
                try:
                    return await _one(client, p, cfg, rater, scheduled, t0)
                finally:
                    gate.release()

            tasks = []
            for p in users:
                scheduled = t0 + p.offset_s
                if not await _arrive(scheduled, stop):
                    break
                await gate.acquire()
                tasks.append(asyncio.create_task(guarded(p, scheduled)))
            stopped = stop is not None and stop.is_set()
            sent_for = time.perf_counter() - t0 if stopped else max(phase_cfg.duration_s, time.perf_counter() - t0)
            records += await asyncio.gather(*tasks)
            phases.append({"phase": users[0].phase if users else phase_cfg.source, "rate": phase_cfg.rate,
                           "seconds": sent_for, "wall_s": time.perf_counter() - t0,
                           "start": started, "end": time.time()})
            if stopped:
                break
    return SimulationResult(pd.DataFrame(records), phases)


def simulate(url: str, pools: dict[str, list[dict[str, Any]]], cfg: SimulateParams,
             hf_home: Path | None = None, stop: threading.Event | None = None) -> SimulationResult:
    """Run every phase of `cfg` against the service at `url`; blocks until the last answer (and
    its feedback) is in. The achieved rate is what was sent over the phase's duration. Setting
    `stop` (from another thread: a canary's verdict) sends no further arrivals; the requests in
    flight are still answered and rated, and the phase it cut reports its shorter duration."""
    check_loopback(url, cfg.allow_remote)
    planned = plan(pools, cfg)
    rater = _Rater(hf_home)
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["result"] = asyncio.run(_run(url.rstrip("/"), planned, cfg, rater, stop))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="simulate", daemon=True)
    thread.start()
    thread.join()
    rater.close()
    if "error" in box:
        raise box["error"]
    return box["result"]


def pools_for(params: Any) -> dict[str, list[dict[str, Any]]]:
    """The question pools of a profile's ETL queries (notebook 10's queries.jsonl)."""
    from minutes import schema
    from minutes.io import read_jsonl

    path = params.stage_dir("etl") / schema.QUERIES
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no queries; run notebook 10_etl for profile {params.profile!r}")
    return question_pools(read_jsonl(path), params.evaluate.split, params.monitor.held_back_domain)
