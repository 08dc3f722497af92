"""`python -m minutes.bench serve [--quick]`: the load test of notebook 50, re-run on its own.

Starts a fresh API process on a free loopback port over the ci profile's work products
(outputs/work/ci/{etl,index}; MINUTES_BENCH_PROFILE picks another profile), reading the model
alias from the profile's MLflow server when it runs, runs /ask extractive at the profile's
concurrency (and generative when a model holds the alias), prints the table and stops the API.
"""
from __future__ import annotations

import os
import socket
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: Any) -> dict[str, Any]:
    import pandas as pd

    from minutes.config import load_params
    from minutes.notebook import configure_environment
    from minutes.platform.local_services import api_argv
    from minutes.platform.processes import Service
    from minutes.serve.client import Client, load_payloads
    from minutes.serve.loadtest import run_suite, targets

    profile = os.environ.get("MINUTES_BENCH_PROFILE", "ci")
    port = _free_port()
    overrides = [f"serve.port={port}"]
    if args.quick:
        overrides += ["serve.loadtest.requests=100", "serve.loadtest.generative_requests=2"]
    params = load_params(profile, overrides)
    configure_environment(params)
    import shutil
    import tempfile
    from pathlib import Path

    # The profile's MLflow server is used when it runs (model alias); without it the API answers
    # extractively. The bench starts nothing it would leave behind.
    state_dir = Path(tempfile.mkdtemp(prefix="minutes-bench-serve-"))
    svc = Service("api-bench", state_dir, f"http://127.0.0.1:{port}/healthz")
    svc.start(api_argv(params, overrides), wait_s=300)
    try:
        url = f"http://127.0.0.1:{port}"
        ready = Client(url).wait_ready(300)
        payloads = load_payloads(params, n=200)
        reports = run_suite(params, url, payloads, generative=ready["mode"] == "generative", progress=False)
    finally:
        svc.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    summaries = [r.summary() for r in reports]
    print(pd.DataFrame(summaries).set_index("test").to_string())
    goals = targets(params, summaries[0])
    print(pd.DataFrame(goals).to_string(index=False))
    load = os.getloadavg()
    return {"profile": profile, "cpus": os.cpu_count(), "loadavg_1m_before_end": round(load[0], 2),
            "mode_available": ready["mode"], "model_version": ready["model_version"],
            "index_chunks": ready["index_chunks"], "summaries": summaries, "targets": goals}
