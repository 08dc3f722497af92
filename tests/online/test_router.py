"""The weighted router as a real process (`python -m minutes.online.router`) in front of two real
HTTP servers on loopback: its split holds its weight, it passes requests and answers through,
takes a new weight or phase from router.json on the next request, and counts an upstream that
is down as that arm's 502s."""
from __future__ import annotations

import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from minutes.config import load_params
from minutes.online import router
from minutes.platform.processes import Service
from minutes.serve.prometheus_text import metric_value
from tests.serve.conftest import free_port


def upstream_app(name: str) -> Any:
    """A stand-in deployment: echoes what it got, fails on /ask when asked to."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        status = 500 if "fail" in body else (404 if request.url.path == "/missing" else 200)
        return JSONResponse({"upstream": name, "path": request.url.path, "query": request.url.query,
                             "method": request.method, "body": body, "token": request.headers.get("authorization")},
                            status_code=status, headers={"x-served-by": name})

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


def serve_in_thread(app: Any, port: int) -> Any:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise TimeoutError("upstream did not start")
        time.sleep(0.05)
    return server


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("router") / "work"
    ports = {"production": free_port(), "candidate": free_port(), "router": free_port()}
    params = load_params("ci", [f"work_dir={work}", f"serve.canary.port={ports['router']}"])
    servers = {arm: serve_in_thread(upstream_app(arm), ports[arm]) for arm in ("production", "candidate")}
    urls = {arm: f"http://127.0.0.1:{ports[arm]}" for arm in servers}
    path = router.state_path(params)
    router.write_state(path, router.RouterState(dict(urls), weight=0.3, seed=7, phase="split"))
    svc = Service("router", params.stage_dir("serve"), f"http://127.0.0.1:{ports['router']}/router/healthz")
    svc.start([sys.executable, "-m", "minutes.online.router", "--profile", "ci", "-p", f"work_dir={work}",
               "-p", f"serve.canary.port={ports['router']}"], wait_s=60)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['router']}", timeout=30, trust_env=False) as client:
            yield {"params": params, "path": path, "urls": urls, "client": client, "service": svc}
    finally:
        svc.stop()
        for s in servers.values():
            s.should_exit = True


def phase(setup: dict[str, Any], name: str, weight: float, seed: int = 7, **upstreams: str | None) -> None:
    urls = {**setup["urls"], **upstreams}
    router.write_state(setup["path"], router.RouterState(urls, weight=weight, seed=seed, phase=name))


def arms_of(client: httpx.Client, n: int, path: str = "/ask") -> list[str]:
    return [client.post(path, json={"question": "q"}).headers[router.UPSTREAM_HEADER] for _ in range(n)]


def test_split_holds_its_weight_and_is_reproducible(setup: dict[str, Any]) -> None:
    client, n, w = setup["client"], 1000, 0.3
    phase(setup, "split-a", w)
    first = arms_of(client, n)
    k = first.count("candidate")
    tolerance = 4 * math.sqrt(n * w * (1 - w))  # 4 binomial standard deviations (4 x 14.5 requests)
    print(f"router split: {k} of {n} requests to the candidate at weight {w} (tolerance +-{tolerance:.1f})")
    assert abs(k - n * w) <= tolerance, f"{k} of {n} to the candidate at weight {w}"
    stats = client.get("/router/stats").json()
    assert stats["phase"] == "split-a" and stats["upstreams"]["candidate"]["requests"] == k
    assert stats["upstreams"]["production"]["requests"] == n - k
    phase(setup, "split-b", w)
    other = arms_of(client, 200)
    phase(setup, "split-a", w)  # the same seed and phase: the same draws again
    assert arms_of(client, 200) == first[:200] != other


def test_requests_and_answers_pass_through(setup: dict[str, Any]) -> None:
    client = setup["client"]
    phase(setup, "pass", 1.0)
    r = client.post("/ask?k=3", content=b'{"question": "why"}', headers={"Authorization": "Bearer t0k3n",
                                                                         "Content-Type": "application/json"})
    body = r.json()
    assert r.status_code == 200 and r.headers[router.UPSTREAM_HEADER] == "candidate"
    assert r.headers["x-served-by"] == "candidate" and int(r.headers["content-length"]) == len(r.content)
    assert (body["path"], body["query"], body["method"]) == ("/ask", "k=3", "POST")
    assert json.loads(body["body"]) == {"question": "why"} and body["token"] == "Bearer t0k3n"
    assert client.get("/missing").status_code == 404
    assert client.post("/ask", json={"question": "please fail"}).status_code == 500
    cand = client.get("/router/stats").json()["upstreams"]["candidate"]
    # /missing is not a compared route; the 500 on /ask is the compared error
    assert (cand["requests"], cand["compared"], cand["compared_errors"]) == (3, 2, 1)
    assert cand["statuses"] == {"200": 1, "404": 1, "500": 1} and len(cand["p95_ms"] and [1]) == 1


def test_weight_zero_sends_everything_to_production_at_once(setup: dict[str, Any]) -> None:
    client = setup["client"]
    phase(setup, "rollback", 0.5)
    assert "candidate" in arms_of(client, 40)
    state = router.read_state(setup["path"])
    state.weight = 0.0
    router.write_state(setup["path"], state)
    assert set(arms_of(client, 100)) == {"production"}
    stats = client.get("/router/stats").json()
    assert stats["weight"] == 0.0 and stats["phase"] == "rollback"  # same phase: counts go on


def test_an_unreachable_candidate_is_its_502s(setup: dict[str, Any]) -> None:
    client = setup["client"]
    phase(setup, "down", 1.0, candidate=f"http://127.0.0.1:{free_port()}")
    r = client.post("/ask", json={"question": "q"})
    assert r.status_code == 502 and r.headers[router.UPSTREAM_HEADER] == "candidate"
    assert r.json() == {"detail": "the candidate deployment is unreachable"}
    cand = client.get("/router/stats").json()["upstreams"]["candidate"]
    assert (cand["compared"], cand["compared_errors"]) == (1, 1)
    text = client.get("/metrics").text
    assert metric_value(text, "minutes_router_requests_total", upstream="candidate", route="/ask", status="502") >= 1
    assert metric_value(text, "minutes_router_upstream_failures_total", upstream="candidate", kind="unreachable") >= 1
    assert metric_value(text, "minutes_router_weight") == 1.0


def test_router_state_is_checked() -> None:
    with pytest.raises(ValueError, match="production upstream"):
        router.RouterState({"production": None, "candidate": "http://x"})
    with pytest.raises(ValueError, match="needs a candidate"):
        router.RouterState({"production": "http://x", "candidate": None}, weight=0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        router.RouterState({"production": "http://x", "candidate": "http://y"}, weight=1.5)
    assert router.quantile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0 and router.quantile([], 0.95) is None
    assert router.route_label("/ask") == "/ask" and router.route_label("/etc/passwd") == "other"
