"""A weighted reverse proxy in front of two deployments of the service: production and a canary.

`python -m minutes.online.router --profile P [-p k=v]` listens on serve.canary.host:port and
sends each request to the candidate with probability `weight` (a seeded draw per request, so a
given request order always splits the same way), else to production. Every response carries
`X-Minutes-Upstream: production|candidate`. The router counts, per arm, requests, 5xx answers
(an unreachable upstream is a 502, a slow one a 504: both the arm's errors) and latencies;
`GET /metrics` exposes them to Prometheus, `GET /router/stats` as JSON for the canary decision.

Its state is `<work_dir>/serve/router.json`: the upstreams, the weight, a phase id and the
arms' model versions. The router re-reads it when it changes (atomic writes); a new phase starts
the figures afresh, and a rollback (weight 0) takes effect on the next request. Without the file
it starts with weight 0. The upstreams come from the parameters (serve.canary.production_upstream
/ candidate_upstream, else the local services' loopback ports) whenever it starts. `PUT /router/state` (minutes.online.canary uses
it, locally and on chameleon, where the router is a container beside the two deployments)
changes weight, phase, seed and versions, and asks for the bearer token held in the variable
`serve.canary.control_token_env`; it writes the same file, so a restarted router keeps its
weight. The upstreams are never set over HTTP: a token lets you move traffic between the two
deployments the router was started with, not send it anywhere else. With the same token a
request may name its arm in the header X-Minutes-Arm (the canary's warm-up): it goes there, the
token is not passed on, and it is left out of the arms' figures.
Chosen over nginx: the per-arm figures the decision needs come with it, and it runs wherever
the package does.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections import Counter, deque
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from minutes.io import read_json, write_json

ARMS = ("production", "candidate")
UPSTREAM_HEADER = "X-Minutes-Upstream"
#: A request carrying this header (an arm's name) and the control token goes to that arm and is
#: left out of the arms' figures: the canary's warm-up, and checks of one deployment.
PIN_HEADER = "X-Minutes-Arm"
#: Routes of the service labelled by name in the metrics; any other path counts as "other".
KNOWN_ROUTES = frozenset({"/", "/ask", "/minutes", "/feedback", "/meetings", "/transcribe", "/ingest",
                          "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"})
#: Headers that belong to one connection, not to the message (RFC 9110 7.6.1), plus those the
#: proxy recomputes (length of the re-sent body, encoding httpx already decoded).
HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailer", "transfer-encoding", "upgrade", "host", "content-length",
                         "content-encoding"})
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass
class RouterState:
    """What router.json holds: where each arm is, the candidate's share, and the phase."""

    upstreams: dict[str, str | None]
    weight: float = 0.0
    seed: int = 0
    phase: str = "initial"
    since: float = field(default_factory=time.time)
    versions: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.upstreams.get("production"):
            raise ValueError("the router needs a production upstream")
        if not 0.0 <= float(self.weight) <= 1.0:
            raise ValueError(f"weight must be between 0 and 1, got {self.weight}")
        if self.weight > 0 and not self.upstreams.get("candidate"):
            raise ValueError("a weight above 0 needs a candidate upstream")


#: What `PUT /router/state` may change (the upstreams stay where the router was started).
CONTROL_FIELDS = ("weight", "phase", "seed", "since", "versions")
#: Largest control body read (a few hundred bytes in practice).
MAX_CONTROL_BYTES = 16 * 1024


def state_path(params: Any) -> Path:
    return params.stage_dir("serve") / "router.json"


def initial_state(params: Any) -> RouterState:
    """The state a router starts with when it has no router.json: both upstreams from the
    parameters, all traffic to production."""
    c, s = params.serve.canary, params.serve
    return RouterState({"production": c.production_upstream or f"http://{s.host}:{s.port}",
                        "candidate": c.candidate_upstream or f"http://{s.host}:{c.candidate_port}"}, seed=c.seed)


def control_body(raw: bytes, current: RouterState) -> RouterState:
    """The state a `PUT /router/state` body asks for, on top of `current` (ValueError: why not)."""
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    class Control(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        weight: float | None = Field(None, ge=0, le=1)
        phase: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
        seed: int | None = None
        since: float | None = None
        versions: dict[str, str | None] | None = None

    if len(raw) > MAX_CONTROL_BYTES:
        raise ValueError(f"the body is over {MAX_CONTROL_BYTES} bytes")
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    if "upstreams" in body:
        raise ValueError("the upstreams are set where the router runs (router.json or "
                         "serve.canary.production_upstream / candidate_upstream), never over HTTP")
    if isinstance(body.get("weight"), int) and not isinstance(body.get("weight"), bool):
        body["weight"] = float(body["weight"])  # 0 and 1 are weights too
    if isinstance(body.get("since"), int) and not isinstance(body.get("since"), bool):
        body["since"] = float(body["since"])
    try:
        wanted = Control.model_validate(body).model_dump(exclude_none=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise ValueError(f"{where}: {first['msg']} (fields: {', '.join(CONTROL_FIELDS)})") from None
    return RouterState(**{**asdict(current), **wanted})


def write_state(path: Path, state: RouterState) -> RouterState:
    """Write router.json atomically (the router reads it on its next request)."""
    write_json(path, asdict(state))
    return state


def read_state(path: Path) -> RouterState:
    return RouterState(**read_json(path))


def route_label(path: str) -> str:
    return path if path in KNOWN_ROUTES else "other"


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by the nearest-rank rule (a value that was observed), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Arm:
    """One upstream's figures since the phase began."""

    def __init__(self, samples: int) -> None:
        self.requests = 0  # every proxied request
        self.statuses: Counter[int] = Counter()
        self.compared = 0  # requests on the compared routes
        self.compared_errors = 0  # ... answered 5xx (or not answered)
        self.latencies_ms: deque[float] = deque(maxlen=samples)  # ... answered below 500

    def observe(self, status: int, seconds: float, compared: bool) -> None:
        self.requests += 1
        self.statuses[status] += 1
        if compared:
            self.compared += 1
            if status >= 500:
                self.compared_errors += 1
            else:
                self.latencies_ms.append(seconds * 1000.0)

    def summary(self, samples: bool) -> dict[str, Any]:
        lat = list(self.latencies_ms)
        out: dict[str, Any] = {"requests": self.requests, "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                               "compared": self.compared, "compared_errors": self.compared_errors,
                               "p50_ms": quantile(lat, 0.5), "p95_ms": quantile(lat, 0.95)}
        if samples:
            out["latency_ms"] = [round(x, 3) for x in lat]
        return out


class RouterMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter as PCounter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        self.requests = PCounter("minutes_router_requests", "requests proxied, by arm, route and status",
                                 ["upstream", "route", "status"], registry=r)
        self.latency = Histogram("minutes_router_latency_seconds", "time to the upstream's full answer",
                                 ["upstream", "route"], buckets=BUCKETS, registry=r)
        self.failures = PCounter("minutes_router_upstream_failures", "requests an upstream did not answer",
                                 ["upstream", "kind"], registry=r)
        self.weight = Gauge("minutes_router_weight", "share of requests sent to the candidate", registry=r)
        self.pinned = PCounter("minutes_router_pinned_requests", "requests pinned to an arm (warm-up), uncounted "
                               "in the canary figures", ["upstream", "status"], registry=r)
        self.version = Gauge("minutes_router_upstream_info", "1 for each arm's model version at the phase start",
                             ["upstream", "model_version"], registry=r)

    def set_state(self, state: RouterState) -> None:
        self.weight.set(state.weight)
        self.version.clear()
        for arm in ARMS:
            if state.upstreams.get(arm):
                self.version.labels(arm, state.versions.get(arm) or "none").set(1)


class Router:
    """The proxy's state: router.json as last read, the seeded draw, each arm's figures."""

    def __init__(self, state_file: Path, compare_routes: list[str], samples: int = 5000,
                 timeout_s: float = 120.0, token_env: str = "MINUTES_ROUTER_TOKEN") -> None:
        self.state_file = Path(state_file)
        self.token_env = token_env
        self.compare_routes = frozenset(compare_routes)
        self.samples = samples
        self.timeout_s = timeout_s
        self.metrics = RouterMetrics()
        self._stamp: tuple[int, int, int] | None = None
        self.state = read_state(self.state_file)
        self._begin(self.state)
        self.client: Any = None

    def _begin(self, state: RouterState) -> None:
        self.rng = random.Random(f"{state.seed}:{state.phase}")
        self.arms = {arm: Arm(self.samples) for arm in ARMS}
        self.metrics.set_state(state)

    def current(self) -> RouterState:
        """router.json, re-read when it was replaced (atomic writes: a new inode); a new phase
        resets the figures."""
        st = os.stat(self.state_file)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            new = read_state(self.state_file)
            if new.phase != self.state.phase or new.seed != self.state.seed:
                self._begin(new)
            else:
                self.metrics.set_state(new)
            self.state, self._stamp = new, stamp
        return self.state

    def pick(self) -> str:
        state = self.current()
        draw = self.rng.random()  # drawn for every request, so the split does not depend on the weight's history
        return "candidate" if state.upstreams.get("candidate") and draw < state.weight else "production"

    def stats(self, samples: bool = False) -> dict[str, Any]:
        state = self.current()
        return {"phase": state.phase, "since": state.since, "weight": state.weight, "seed": state.seed,
                "versions": state.versions, "compare_routes": sorted(self.compare_routes),
                "upstreams": {arm: {"url": state.upstreams.get(arm), **self.arms[arm].summary(samples)}
                              for arm in ARMS}}

    def control(self, raw: bytes) -> RouterState:
        """Apply a `PUT /router/state` body: validated, written to router.json, in force for the
        next request (ValueError: refused, nothing changed)."""
        state = control_body(raw, self.current())
        write_state(self.state_file, state)
        return self.current()

    def record(self, arm: str, path: str, status: int, seconds: float) -> None:
        route = route_label(path)
        self.arms[arm].observe(status, seconds, path in self.compare_routes)
        self.metrics.requests.labels(arm, route, str(status)).inc()
        self.metrics.latency.labels(arm, route).observe(seconds)


def create_app(router: Router) -> Any:
    """The Starlette app: /router/healthz, /router/stats, /metrics; everything else is proxied."""
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        router.client = httpx.AsyncClient(timeout=router.timeout_s, limits=limits, trust_env=False)
        try:
            yield
        finally:
            await router.client.aclose()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "phase": router.current().phase})

    async def stats(request: Request) -> Response:
        return JSONResponse(router.stats(samples=request.query_params.get("samples") in ("1", "true")))

    async def put_state(request: Request) -> Response:
        from minutes.serve.bearer import token_problem

        problem = token_problem(request.headers.get("authorization", ""), router.token_env, "router control")
        if problem is not None:
            return JSONResponse({"detail": problem[1]}, status_code=problem[0])
        raw = b""
        async for part in request.stream():
            raw += part
            if len(raw) > MAX_CONTROL_BYTES:
                break
        try:
            router.control(raw)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return JSONResponse(router.stats())

    async def metrics(_: Request) -> Response:
        from prometheus_client import generate_latest

        router.current()
        return Response(generate_latest(router.metrics.registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def proxy(request: Request) -> Response:
        from minutes.serve.bearer import token_problem

        pinned = request.headers.get(PIN_HEADER)
        drop = HOP_HEADERS
        if pinned is not None:
            problem = token_problem(request.headers.get("authorization", ""), router.token_env, "router control")
            if problem is not None:
                return JSONResponse({"detail": problem[1]}, status_code=problem[0])
            if pinned not in ARMS or not router.current().upstreams.get(pinned):
                return JSONResponse({"detail": f"{PIN_HEADER} must name an arm with an upstream: {list(ARMS)}"},
                                    status_code=422)
            arm = pinned
            drop = HOP_HEADERS | {"authorization", PIN_HEADER.lower()}  # the token stays here
        else:
            arm = router.pick()
        base = router.state.upstreams[arm]
        path = request.url.path
        url = f"{base}{path}" + (f"?{request.url.query}" if request.url.query else "")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in drop]
        if request.client:
            headers.append(("x-forwarded-for", request.client.host))
        body = await request.body()
        t0 = time.perf_counter()
        try:
            resp = await router.client.request(request.method, url, headers=headers, content=body)
            status, content = resp.status_code, resp.content
            out_headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in HOP_HEADERS]
        except httpx.TimeoutException:
            status, content, out_headers = 504, _detail(f"the {arm} deployment did not answer in time"), [
                ("content-type", "application/json")]
            router.metrics.failures.labels(arm, "timeout").inc()
        except httpx.HTTPError:
            status, content, out_headers = 502, _detail(f"the {arm} deployment is unreachable"), [
                ("content-type", "application/json")]
            router.metrics.failures.labels(arm, "unreachable").inc()
        if pinned is None:
            router.record(arm, path, status, time.perf_counter() - t0)
        else:
            router.metrics.pinned.labels(arm, str(status)).inc()
        response = Response(content=content, status_code=status)
        response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out_headers] + [
            (b"content-length", str(len(content)).encode()), (UPSTREAM_HEADER.lower().encode(), arm.encode())]
        return response

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/router/healthz", healthz), Route("/router/stats", stats),
                             Route("/router/state", put_state, methods=["PUT"]),
                             Route("/metrics", metrics), Route("/{path:path}", proxy, methods=methods)],
                     lifespan=lifespan)


def _detail(message: str) -> bytes:
    return json.dumps({"detail": message}).encode()


def router_for(params: Any) -> Router:
    """The router of these parameters. The upstreams always come from them; weight, phase and
    versions from router.json when there is one (a restart keeps a rollback's weight 0)."""
    c = params.serve.canary
    path = state_path(params)
    start = initial_state(params)
    if path.is_file():
        kept = read_state(path)
        if kept.upstreams != start.upstreams:  # other deployments: a phase of their own
            kept = RouterState(start.upstreams, seed=kept.seed)
        start = kept
    write_state(path, start)
    return Router(path, list(c.compare_routes), c.latency_samples, c.upstream_timeout_s, c.control_token_env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minutes.online.router", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="local")
    parser.add_argument("-p", "--param", action="append", default=[], help="override, e.g. serve.canary.port=8852")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    from minutes.config import load_params

    params = load_params(args.profile, args.param)
    app = create_app(router_for(params))
    uvicorn.run(app, host=params.serve.canary.host, port=params.serve.canary.port, log_level=args.log_level,
                access_log=False, timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
