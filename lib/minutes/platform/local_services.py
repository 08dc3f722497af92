"""The background services of the embedded profiles, started and stopped by name.

`mlflow` is the tracking server (platform.mlflow_server); `api` is the FastAPI service
(`python -m minutes.serve`); `prometheus` scrapes it (platform.prometheus_server). Ansible's
localhost playbooks and notebook 99 call this module's CLI:

    python -m minutes.platform.local_services start|stop|status mlflow|api|prometheus|all --profile ci [-p k=v]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import Callable

from minutes.cache import code_version, hash_params
from minutes.config import Params, load_params
from minutes.io import write_text
from minutes.platform import mlflow_server, prometheus_server
from minutes.platform.processes import Service

#: in start order; stop_all stops them in reverse
NAMES = ("mlflow", "api", "prometheus")


def api_service(params: Params) -> Service:
    url = f"http://{params.serve.host}:{params.serve.port}"
    return Service("api", params.stage_dir("serve"), f"{url}/healthz")


def api_argv(params: Params, overrides: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "minutes.serve", "--profile", params.profile]
    for o in overrides:
        argv += ["-p", o]
    return argv


def service(name: str, params: Params) -> Service:
    if name == "mlflow":
        return mlflow_server.local_service(params)
    if name == "api":
        return api_service(params)
    if name == "prometheus":
        return prometheus_server.local_service(params)
    raise ValueError(f"unknown service {name!r}; have {NAMES}")


def api_fingerprint(params: Params, overrides: list[str]) -> str:
    """What the running API was deployed from: command line, resolved parameters, package source
    and ingest token (hashed). A deploy with another fingerprint restarts the service."""
    token = os.environ.get(params.serve.ingest_token_env, "")
    return hash_params({"argv": api_argv(params, overrides), "params": hash_params(params),
                        "code": code_version(["minutes"]),
                        "token": hashlib.sha256(token.encode()).hexdigest()})[:16]


def start(name: str, params: Params, overrides: list[str]) -> dict[str, str]:
    """Start a service, or keep the one running. The API is restarted when its fingerprint
    changed since it was started (new parameters, code or token), as a deploy should."""
    if name == "mlflow":
        return {"url": mlflow_server.ensure_server(params), "action": "running"}
    if name == "prometheus":
        return {"url": prometheus_server.ensure_server(params), "action": "running"}
    svc = api_service(params)
    stamp = svc.state_dir / "api.deployed"
    want = api_fingerprint(params, overrides)
    healthy = svc.healthy()
    current = healthy and stamp.is_file() and stamp.read_text().strip() == want
    action = "kept" if current else ("restarted" if healthy else "started")
    if healthy and not current:
        svc.stop()
    if not current:
        svc.start(api_argv(params, overrides), wait_s=300)
        write_text(stamp, want)
    return {"url": svc.health_url.rsplit("/", 1)[0], "action": action}


def stop_all(params: Params) -> dict[str, bool]:
    """Stop every local service (Prometheus, the API, then MLflow); True where one was running."""
    return {name: service(name, params).stop() for name in reversed(NAMES)}


def status(params: Params) -> dict[str, dict[str, object]]:
    out = {}
    for name in NAMES:
        svc = service(name, params)
        out[name] = {"pid": svc.pid(), "healthy": svc.healthy(), "url": svc.health_url, "log": str(svc.log_file)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minutes.platform.local_services")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("name", choices=[*NAMES, "all"])
    parser.add_argument("--profile", default="local")
    parser.add_argument("-p", "--param", action="append", default=[])
    args = parser.parse_args(argv)
    params = load_params(args.profile, args.param)
    names = list(NAMES) if args.name == "all" else [args.name]
    actions: dict[str, Callable[[str], object]] = {
        "start": lambda n: start(n, params, args.param),
        "stop": lambda n: service(n, params).stop(),
        "status": lambda n: status(params)[n],
    }
    print(json.dumps({n: actions[args.action](n) for n in names}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
