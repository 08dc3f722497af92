"""A small client of the HTTP API for notebooks (smoke test, load-test payloads, demo)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from minutes import schema
from minutes.config import Params
from minutes.io import read_jsonl


class ServiceError(RuntimeError):
    """The service answered with an error status; the message carries its detail."""


class Client:
    def __init__(self, base_url: str, timeout_s: float = 120.0) -> None:
        import logging

        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)  # notebooks log at INFO
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def _check(self, resp: Any) -> Any:
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail")
            except ValueError:
                detail = resp.text[:300]
            raise ServiceError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {detail}")
        return resp

    def wait_ready(self, timeout_s: float = 120.0) -> dict[str, Any]:
        deadline = time.time() + timeout_s
        while True:
            try:
                r = self.http.get("/readyz")
                if r.status_code == 200:
                    return r.json()
            except Exception:  # connection refused while starting
                pass
            if time.time() > deadline:
                raise TimeoutError(f"{self.base_url} not ready after {timeout_s:.0f} s")
            time.sleep(1)

    def ask(self, question: str, meeting_id: str | None = None, k: int | None = None, mode: str = "auto") -> dict[str, Any]:
        body = {"question": question, "meeting_id": meeting_id, "k": k, "mode": mode}
        return self._check(self.http.post("/ask", json=body)).json()

    def minutes(self, meeting_id: str, format: str = "json") -> Any:
        r = self._check(self.http.post("/minutes", json={"meeting_id": meeting_id, "format": format}))
        return r.text if format == "markdown" else r.json()

    def meetings(self) -> list[dict[str, Any]]:
        return self._check(self.http.get("/meetings")).json()

    def readyz(self) -> dict[str, Any]:
        return self.http.get("/readyz").json()

    def metrics(self) -> str:
        return self._check(self.http.get("/metrics")).text

    def ingest(self, path: Path, meeting_id: str, token: str) -> dict[str, Any]:
        with Path(path).open("rb") as fh:
            r = self.http.post("/ingest", files={"file": (Path(path).name, fh)}, data={"meeting_id": meeting_id},
                               headers={"Authorization": f"Bearer {token}"})
        return self._check(r).json()

    def transcribe(self, path: Path, format: str = "json") -> Any:
        with Path(path).open("rb") as fh:
            r = self._check(self.http.post("/transcribe", params={"format": format},
                                           files={"file": (Path(path).name, fh)}))
        return r.json() if format == "json" else r.text


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """One sample's value from Prometheus text (labels must match exactly those given)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_part = head.partition("{")
        if metric != name:
            continue
        got = dict(kv.split("=", 1) for kv in label_part.rstrip("}").split(",") if "=" in kv)
        if {k: v.strip('"') for k, v in got.items()} == labels:
            return float(value)
    return None


def load_payloads(params: Params, n: int = 200, within_meeting: bool = True) -> list[dict[str, Any]]:
    """/ask bodies from real questions, each question text once (the service remembers question
    vectors, so a repeated text would measure the cache): the evaluation split's first,
    specific ones before general, then the other splits' when `n` asks for more."""
    rows = read_jsonl(params.stage_dir("etl") / schema.QUERIES)
    if not rows:
        raise ValueError(f"{params.stage_dir('etl') / schema.QUERIES}: no queries")
    split = params.evaluate.split
    rows = sorted(rows, key=lambda r: (r.get("split") != split, r["kind"] != "specific", r["query_id"]))
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["query"] not in seen and len(out) < n:
            seen.add(r["query"])
            out.append({"question": r["query"], "meeting_id": r["meeting_id"] if within_meeting else None})
    return out
