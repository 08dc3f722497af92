"""The weighted router as a real process (`python -m minutes.online.router`) in front of two real
HTTP servers on loopback: its split holds its weight, it passes requests and answers through,
takes a new weight or phase from router.json or an authenticated PUT /router/state on the next
request, keeps its state over a restart, and counts an upstream that is down as that arm's 502s."""
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

TOKEN_ENV, TOKEN = "MINUTES_ROUTER_TOKEN", "router-test-token"


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
    servers = {arm: serve_in_thread(upstream_app(arm), ports[arm]) for arm in ("production", "candidate")}
    urls = {arm: f"http://127.0.0.1:{ports[arm]}" for arm in servers}
    overrides = [f"work_dir={work}", f"serve.canary.port={ports['router']}",
                 f"serve.canary.production_upstream={urls['production']}",
                 f"serve.canary.candidate_upstream={urls['candidate']}"]
    params = load_params("ci", overrides)
    path = router.state_path(params)
    router.write_state(path, router.RouterState(dict(urls), weight=0.3, seed=7, phase="split"))
    svc = Service("router", params.stage_dir("serve"), f"http://127.0.0.1:{ports['router']}/router/healthz")
    argv = [sys.executable, "-m", "minutes.online.router", "--profile", "ci"]
    for o in overrides:
        argv += ["-p", o]
    svc.start(argv, env={TOKEN_ENV: TOKEN}, wait_s=60)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['router']}", timeout=30, trust_env=False) as client:
            yield {"params": params, "path": path, "urls": urls, "client": client, "service": svc,
                   "argv": argv, "port": ports["router"]}
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


def put(setup: dict[str, Any], body: Any, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return setup["client"].put("/router/state", json=body, headers=headers)


def test_control_moves_traffic_with_the_token_only(setup: dict[str, Any]) -> None:
    phase(setup, "control", 0.0)
    before = router.read_state(setup["path"])
    for token, status, words in ((None, 401, "missing router control token"), ("nope", 403, "wrong router control token")):
        r = put(setup, {"weight": 1.0}, token)
        assert r.status_code == status and words in r.json()["detail"]
    for body, words in (({"upstreams": {"production": "http://evil.example"}}, "never over HTTP"),
                        ({"weight": 1.5}, "weight"), ({"weight": "1"}, "weight"), ({"phase": "a b"}, "phase"),
                        ({"colour": "red"}, "colour"), ([1, 2], "JSON object")):
        r = put(setup, body)
        assert r.status_code == 422 and words in r.json()["detail"], (body, r.text)
    assert router.read_state(setup["path"]) == before  # nothing refused was written
    assert set(arms_of(setup["client"], 20)) == {"production"}
    r = put(setup, {"weight": 1, "phase": "control-2", "versions": {"production": "1", "candidate": "2"}})
    assert r.status_code == 200 and r.json()["phase"] == "control-2" and r.json()["weight"] == 1.0
    assert set(arms_of(setup["client"], 20)) == {"candidate"}
    saved = router.read_state(setup["path"])  # written where a restart reads it
    assert (saved.weight, saved.phase, saved.upstreams) == (1.0, "control-2", setup["urls"])


def test_a_restart_keeps_the_weight_and_takes_the_upstreams_from_its_parameters(setup: dict[str, Any]) -> None:
    assert put(setup, {"weight": 0.0, "phase": "kept"}).status_code == 200
    svc = setup["service"]
    svc.stop()
    svc.start(setup["argv"], env={TOKEN_ENV: TOKEN}, wait_s=60)
    stats = setup["client"].get("/router/stats").json()
    assert (stats["phase"], stats["weight"]) == ("kept", 0.0)
    assert {arm: u["url"] for arm, u in stats["upstreams"].items()} == setup["urls"]


def test_control_is_off_without_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    params = load_params("ci", [f"work_dir={tmp_path}"])
    r = router.router_for(params)
    assert r.state.upstreams == {"production": f"http://127.0.0.1:{params.serve.port}",
                                 "candidate": f"http://127.0.0.1:{params.serve.canary.candidate_port}"}
    from starlette.testclient import TestClient

    with TestClient(router.create_app(r)) as client:
        resp = client.put("/router/state", json={"weight": 1.0}, headers={"Authorization": "Bearer x"})
    assert resp.status_code == 503 and "MINUTES_ROUTER_TOKEN" in resp.json()["detail"]


def test_a_pinned_request_reaches_its_arm_uncounted_and_keeps_the_token(setup: dict[str, Any]) -> None:
    client = setup["client"]
    phase(setup, "pinned", 0.0)
    pin = {router.PIN_HEADER: "candidate", "Authorization": f"Bearer {TOKEN}"}
    r = client.post("/ask", json={"question": "warm"}, headers=pin)
    assert r.status_code == 200 and r.headers[router.UPSTREAM_HEADER] == "candidate"
    assert r.json()["token"] is None  # the router's token is not passed on
    stats = client.get("/router/stats").json()["upstreams"]
    assert stats["candidate"]["requests"] == stats["production"]["requests"] == 0  # not in the figures
    assert metric_value(client.get("/metrics").text, "minutes_router_pinned_requests_total",
                        upstream="candidate", status="200") >= 1
    for headers, status in (({router.PIN_HEADER: "candidate"}, 401),
                            ({router.PIN_HEADER: "candidate", "Authorization": "Bearer nope"}, 403),
                            ({router.PIN_HEADER: "staging", "Authorization": f"Bearer {TOKEN}"}, 422)):
        assert client.post("/ask", json={"question": "q"}, headers=headers).status_code == status
