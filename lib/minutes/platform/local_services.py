"""The background services of the embedded profiles, started and stopped by name.

`mlflow` is the tracking server (platform.mlflow_server); `api` is the FastAPI service
(`python -m minutes.serve`); `candidate` is a second one on serve.canary.candidate_port following
serve.canary.candidate_alias, and `router` the weighted proxy in front of both
(`python -m minutes.online.router`), started by a canary (minutes.online.canary); `prometheus`
scrapes them (platform.prometheus_server). Ansible's localhost playbooks and notebook 99 call
this module's CLI:

    python -m minutes.platform.local_services start|stop|status mlflow|api|candidate|router|prometheus|all --profile ci
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Callable

from minutes.cache import code_version, hash_params
from minutes.config import Params, load_params
from minutes.io import write_text
from minutes.platform import mlflow_server, prometheus_server, tokens
from minutes.platform.processes import Service

#: In start order; stop_all stops them in reverse (Prometheus first, the router before what it routes to).
NAMES = ("mlflow", "api", "candidate", "router", "prometheus")
#: Services started from a command line and restarted when it (or the code) changed.
DEPLOYED = ("api", "candidate", "router")


def api_service(params: Params) -> Service:
    url = f"http://{params.serve.host}:{params.serve.port}"
    return Service("api", params.stage_dir("serve"), f"{url}/healthz")


def candidate_service(params: Params) -> Service:
    url = f"http://{params.serve.host}:{params.serve.canary.candidate_port}"
    return Service("candidate", params.stage_dir("serve"), f"{url}/healthz")


def router_service(params: Params) -> Service:
    c = params.serve.canary
    return Service("router", params.stage_dir("serve"), f"http://{c.host}:{c.port}/router/healthz")


def api_argv(params: Params, overrides: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "minutes.serve", "--profile", params.profile]
    for o in overrides:
        argv += ["-p", o]
    return argv


def candidate_overrides(params: Params, overrides: list[str]) -> list[str]:
    """The candidate is the API on its own port, following the candidate alias."""
    c = params.serve.canary
    return [*overrides, f"serve.port={c.candidate_port}", f"serve.model_alias={c.candidate_alias}"]


def argv_of(name: str, params: Params, overrides: list[str]) -> list[str]:
    if name == "api":
        return api_argv(params, overrides)
    if name == "candidate":
        return api_argv(params, candidate_overrides(params, overrides))
    if name == "router":
        return [sys.executable, "-m", "minutes.online.router", "--profile", params.profile,
                *[a for o in overrides for a in ("-p", o)]]
    raise ValueError(f"{name!r} is not started from a command line; have {DEPLOYED}")


def service(name: str, params: Params) -> Service:
    if name == "mlflow":
        return mlflow_server.local_service(params)
    if name == "api":
        return api_service(params)
    if name == "prometheus":
        return prometheus_server.local_service(params)
    if name == "candidate":
        return candidate_service(params)
    if name == "router":
        return router_service(params)
    raise ValueError(f"unknown service {name!r}; have {NAMES}")


def token_env(name: str, params: Params) -> str:
    """The variable holding the token a service checks: the router's control token, else ingest."""
    return params.serve.canary.control_token_env if name == "router" else params.serve.ingest_token_env


def fingerprint(name: str, params: Params, overrides: list[str]) -> str:
    """What a running service was deployed from: command line, resolved parameters, package source
    and the token it checks (hashed: the router's control token, the APIs' ingest token). A deploy
    with another fingerprint restarts the service."""
    token = tokens.current_token(params, token_env(name, params))
    return hash_params({"argv": argv_of(name, params, overrides), "params": hash_params(params),
                        "code": code_version(["minutes"]),
                        "token": hashlib.sha256(token.encode()).hexdigest()})[:16]


def api_fingerprint(params: Params, overrides: list[str]) -> str:
    return fingerprint("api", params, overrides)


def start(name: str, params: Params, overrides: list[str]) -> dict[str, str]:
    """Start a service, or keep the one running. The API, the candidate and the router are
    restarted when their fingerprint changed since they started (new parameters, code or token),
    as a deploy should. The router starts from router.json, else from the parameters (all
    traffic to the API); its control token is made for this session when the environment has none."""
    if name == "mlflow":
        return {"url": mlflow_server.ensure_server(params), "action": "running"}
    if name == "prometheus":
        return {"url": prometheus_server.ensure_server(params), "action": "running"}
    tokens.ensure_token(params, token_env(name, params))  # the one kept for the work dir, or the user's
    svc = service(name, params)
    stamp = svc.state_dir / f"{name}.deployed"
    want = fingerprint(name, params, overrides)
    healthy = svc.check_ours()  # a foreign server on the port is an error, never "kept"
    current = healthy and stamp.is_file() and stamp.read_text().strip() == want
    action = "kept" if current else ("restarted" if healthy else "started")
    if healthy and not current:
        svc.stop()
    if not current:
        svc.start(argv_of(name, params, overrides), wait_s=60 if name == "router" else 300)
        write_text(stamp, want)
    return {"url": svc.health_url.rsplit("/", 1)[0].removesuffix("/router"), "action": action}


def stop_all(params: Params) -> dict[str, bool]:
    """Stop every local service (Prometheus, router, candidate, API, then MLflow); True where one was running."""
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
