"""The smoke test notebook 50 runs right after a deploy: every route answers, and bad input is
refused with the 4xx the API promises. One row per check, so the report shows what was tried."""
from __future__ import annotations

import time
from typing import Any, Callable

from minutes.serve.client import Client


class SmokeFailed(AssertionError):
    """At least one smoke check did not get the status it expected."""


def _row(name: str, expect: int, call: Callable[[], Any], describe: Callable[[Any], str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        resp = call()
        status, detail = resp.status_code, describe(resp) if resp.status_code == expect else resp.text[:200]
    except Exception as exc:  # connection refused, timeout: a failed check, not a crash
        status, detail = 0, f"{type(exc).__name__}: {exc}"[:200]
    return {"check": name, "expect": expect, "status": status, "ok": status == expect,
            "ms": round((time.perf_counter() - t0) * 1000, 1), "detail": detail}


def smoke_test(client: Client, question: str, meeting_id: str) -> list[dict[str, Any]]:
    """Run the checks against a deployed service; rows of check, expected/actual status, detail."""
    h = client.http

    def ask(body: dict[str, Any]) -> Callable[[], Any]:
        return lambda: h.post("/ask", json=body)

    def detail(r: Any) -> str:
        return str(r.json().get("detail", ""))[:200]

    return [
        _row("GET /healthz", 200, lambda: h.get("/healthz"), lambda r: r.json()["status"]),
        _row("GET /readyz", 200, lambda: h.get("/readyz"),
             lambda r: f"{r.json()['index_chunks']} chunks, {r.json()['meetings']} meetings, mode {r.json()['mode']}"),
        _row("GET /meetings", 200, lambda: h.get("/meetings"), lambda r: f"{len(r.json())} meetings"),
        _row("POST /ask", 200, ask({"question": question, "meeting_id": meeting_id}),
             lambda r: f"{r.json()['mode']}: {len(r.json()['sources'])} sources; {r.json()['answer'][:80]!r}"),
        _row("POST /minutes", 200, lambda: h.post("/minutes", json={"meeting_id": meeting_id}),
             lambda r: ", ".join(f"{len(r.json()[k])} {k}" for k in ("summary", "decisions", "action_items"))),
        _row("GET / (web page)", 200, lambda: h.get("/"), lambda r: r.headers.get("content-type", "")),
        _row("GET /metrics", 200, lambda: h.get("/metrics"),
             lambda r: f"{sum(1 for x in r.text.splitlines() if x.startswith('minutes_'))} minutes_* samples"),
        _row("POST /ask empty question", 422, ask({"question": "  "}), detail),
        _row("POST /ask unknown meeting", 404, ask({"question": question, "meeting_id": "no-such-meeting"}), detail),
        _row("POST /ask k out of range", 422, ask({"question": question, "k": 0}), detail),
        _row("POST /ask invalid JSON", 400, lambda: h.post("/ask", content=b"{not json",
                                                            headers={"content-type": "application/json"}), detail),
        _row("POST /ingest without token", 401, lambda: h.post("/ingest", files={"file": ("m.txt", b"A: hi")}),
             detail),
    ]


def check(rows: list[dict[str, Any]]) -> None:
    """Raise SmokeFailed naming every check that did not get its expected status."""
    bad = [f"{r['check']}: expected {r['expect']}, got {r['status']} ({r['detail']})" for r in rows if not r["ok"]]
    if bad:
        raise SmokeFailed("smoke test failed:\n  " + "\n  ".join(bad))
