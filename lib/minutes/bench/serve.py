"""`python -m minutes.bench serve [--quick]`: the load test of notebook 50, re-run on its own.

Starts a fresh API process on a free loopback port over the ci profile's work products
(outputs/work/ci/{etl,index}; MINUTES_BENCH_PROFILE picks another profile) and runs /ask
extractive at the profile's load-test settings. Generative figures: with the version holding
`serve.model_alias` when there is one, else with the newest registered version (pinned by number,
the aliases are not touched). The profile's MLflow server is read when it runs; the bench starts
nothing it would leave behind.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _newest_version(params: Any) -> str | None:
    try:
        from minutes.generate.registry import resolve_version
        from minutes.platform import mlflow_server

        if not (params.mlflow.tracking_uri or mlflow_server.local_service(params).healthy()):
            return None
        return resolve_version(params, "latest")
    except Exception:  # no server, no model registered: no generative figures
        return None


def _measure(profile: str, overrides: list[str], extractive: bool, generative_only: bool = False) -> dict[str, Any]:
    """Start an API with `overrides`, load-test it, stop it."""
    from minutes.config import load_params
    from minutes.platform.local_services import api_argv
    from minutes.platform.processes import Service
    from minutes.serve.client import Client
    from minutes.serve.loadtest import run_suite, suite_payloads

    port = _free_port()
    params = load_params(profile, [*overrides, f"serve.port={port}"])
    state_dir = Path(tempfile.mkdtemp(prefix="minutes-bench-serve-"))
    svc = Service("api-bench", state_dir, f"http://127.0.0.1:{port}/healthz")
    svc.start(api_argv(params, [*overrides, f"serve.port={port}"]), wait_s=300)
    try:
        url = f"http://127.0.0.1:{port}"
        ready = Client(url).wait_ready(300)
        payloads = suite_payloads(params)
        reports = run_suite(params, url, payloads, generative=ready["mode"] == "generative", progress=False,
                            extractive=extractive and not generative_only)
    finally:
        svc.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    return {"ready": ready, "summaries": [r.summary() for r in reports], "params": params}


def run(args: Any) -> dict[str, Any]:
    import pandas as pd

    from minutes.config import load_params
    from minutes.notebook import configure_environment
    from minutes.serve.loadtest import targets

    profile = os.environ.get("MINUTES_BENCH_PROFILE", "ci")
    overrides = ["serve.loadtest.requests=100", "serve.loadtest.generative_requests=2"] if args.quick else []
    params = load_params(profile, overrides)
    configure_environment(params)
    first = _measure(profile, overrides, extractive=True)
    summaries, ready = first["summaries"], first["ready"]
    generative_version = ready["model_version"]
    if ready["mode"] != "generative":
        generative_version = _newest_version(params)
        if generative_version is not None:
            pinned = _measure(profile, [*overrides, f"serve.model_alias={generative_version}"], extractive=False,
                              generative_only=True)
            summaries += pinned["summaries"]
    print(pd.DataFrame(summaries).set_index("test").to_string())
    goals = targets(params, summaries[0])
    print(pd.DataFrame(goals).to_string(index=False))
    return {"profile": profile, "cpus": os.cpu_count(), "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
            "alias": params.serve.model_alias, "alias_version": ready["model_version"],
            "generative_version": generative_version, "index_chunks": ready["index_chunks"],
            "summaries": summaries, "targets": goals}
