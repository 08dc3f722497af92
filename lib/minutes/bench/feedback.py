"""`python -m minutes.bench feedback [--quick]`: many concurrent POST /feedback on each answer-log
backend, and whether every accepted post is stored (issue 14: 10,000 posts, none lost, no 5xx).

For each backend it starts the real service, extractive, on the scale bench's smallest synthetic
state (real QMSum utterances, stand-in vectors; built once under outputs/work/bench/scale and
shared with `bench scale`) on a free loopback port: SQLite in WAL mode in a file of its own, and
Postgres on a throwaway server started here (minutes.platform.postgres_local, the URL passed in
the environment as on the platform). It asks QMSum questions to get answer ids, then posts feedback with a unique correction each from
`MINUTES_BENCH_FEEDBACK_CONCURRENCY` workers (default 32), and compares three counts: 2xx
answers, rows in the database carrying this run's corrections, and the service's
minutes_feedback_total counter. The bench leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

POSTS = 10_000
QUICK_POSTS = 500
ANSWERS = 100
STATE_CHUNKS = 10_000
QUICK_STATE_CHUNKS = 2_000


def _feedback_total(metrics_text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(s.value for f in text_string_to_metric_families(metrics_text) for s in f.samples
               if s.name == "minutes_feedback_total")


@contextlib.contextmanager
def _backend(name: str) -> Iterator[tuple[list[str], dict[str, str], str | None]]:
    """(overrides, environment for the service, Postgres URL) for one backend; removed afterwards."""
    if name == "sqlite":
        yield [f"serve.answer_log.sqlite_file=bench-feedback-{os.getpid()}.db"], {}, None
        return
    from minutes.bench import scale
    from minutes.platform import postgres_local

    if postgres_local.bin_dir() is None:
        raise RuntimeError(postgres_local.INSTALL_HINT)
    with contextlib.contextmanager(postgres_local.start)(scale.free_port()) as server:
        url = server.new_database()
        env_name = "MINUTES_BENCH_ANSWER_LOG_URL"
        yield ["serve.answer_log.backend=postgres", f"serve.answer_log.url_env={env_name}"], {env_name: url}, url


def _stored_corrections(params: Any, url: str | None, tag: str) -> list[str]:
    from minutes.online.answer_log import PostgresAnswerLog, SqliteAnswerLog, sqlite_path

    log = PostgresAnswerLog(url) if url else SqliteAnswerLog(sqlite_path(params))
    try:
        return [r["correction"] for r in log.feedback() if (r["correction"] or "").startswith(tag)]
    finally:
        log.close()


def _measure(name: str, work: Path, meetings: int, posts: int, concurrency: int) -> dict[str, Any]:
    import httpx

    from minutes.bench import scale
    from minutes.online.answer_log import sqlite_path
    from minutes.platform.processes import Service
    from minutes.serve.loadtest import run_load

    with _backend(name) as (backend_overrides, env, url):
        port = scale.free_port()
        params, argv = scale.service_command(work, "flat", port, *backend_overrides)
        state_dir = Path(tempfile.mkdtemp(prefix="minutes-bench-feedback-"))
        svc = Service("api-bench-feedback", state_dir, f"http://127.0.0.1:{port}/readyz")
        svc.start(argv, env={**scale.SERVICE_ENV, **env}, wait_s=600)
        try:
            base = f"http://127.0.0.1:{port}"
            questions = scale.payload_sets(meetings, ANSWERS)["corpus"]
            with httpx.Client(base_url=base, timeout=60) as c:
                answer_ids = [c.post("/ask", json=q).raise_for_status().json()["answer_id"] for q in questions]
                before = _feedback_total(c.get("/metrics").text)
            tag = f"bench {secrets.token_hex(4)}"
            bodies = [{"answer_id": answer_ids[i % len(answer_ids)], "rating": "down" if i % 3 == 0 else "up",
                       "correction": f"{tag} post {i}"} for i in range(posts)]
            report = run_load(base, bodies, requests=posts, concurrency=concurrency, path="/feedback",
                              name=f"feedback {name}")
            with httpx.Client(base_url=base, timeout=60) as c:
                counted = _feedback_total(c.get("/metrics").text) - before
        finally:
            svc.stop()
            shutil.rmtree(state_dir, ignore_errors=True)
        try:
            stored = _stored_corrections(params, url, tag)
        finally:
            if url is None:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sqlite_path(params)}{suffix}").unlink(missing_ok=True)
    s = report.summary()
    return {"backend": name, "concurrency": concurrency, "answers": len(answer_ids),
            **tally([b["correction"] for b in bodies], report.records, stored, int(counted)),
            "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"], "p99_ms": s["p99_ms"], "throughput_rps": s["throughput_rps"],
            "errors_sample": sorted({r.get("error", "") for r in report.records if r.get("error")})[:3]}


def tally(sent: list[str], records: list[dict[str, Any]], stored: list[str], counted: int) -> dict[str, Any]:
    """What the client was told against what the database holds and the counter says.

    `sent[i]` is the correction of post i, `records` the load test's per-post results (`i`,
    `status`), `stored` the corrections found in the database. Lost: a 2xx whose row is missing;
    unexpected: a row for a post that was not answered 2xx. The target: every post answered 2xx,
    stored once and counted once."""
    accepted = [sent[r["i"]] for r in records if 200 <= r["status"] < 300]
    statuses = [r["status"] for r in records]
    out = {"posts": len(sent), "2xx": len(accepted), "4xx": sum(400 <= x < 500 for x in statuses),
           "5xx": sum(x >= 500 for x in statuses), "failed": sum(x == 0 for x in statuses),
           "stored": len(stored), "lost": len(set(accepted) - set(stored)),
           "duplicated": len(stored) - len(set(stored)), "unexpected": len(set(stored) - set(accepted)),
           "counter_delta": counted}
    out["target_met"] = (out["2xx"] == out["stored"] == counted == len(sent) and out["lost"] == 0
                         and out["duplicated"] == 0 and out["unexpected"] == 0)
    return out


def run(args: Any) -> dict[str, Any]:
    import pandas as pd

    from minutes import REPO_ROOT
    from minutes.bench import scale

    concurrency = int(os.environ.get("MINUTES_BENCH_FEEDBACK_CONCURRENCY", "32"))
    posts = QUICK_POSTS if args.quick else POSTS
    n = QUICK_STATE_CHUNKS if args.quick else STATE_CHUNKS
    work, info = scale.ensure_state(n, REPO_ROOT / "outputs" / "work" / "bench" / "scale", "flat")
    rows = [_measure(name, work, info["meetings"], posts, concurrency) for name in ("sqlite", "postgres")]
    cols = ["backend", "posts", "concurrency", "2xx", "4xx", "5xx", "failed", "stored", "lost", "duplicated",
            "counter_delta", "p50_ms", "p95_ms", "p99_ms", "throughput_rps", "target_met"]
    print(pd.DataFrame(rows)[cols].to_string(index=False))
    return {"state_chunks": n, "rows": rows}
