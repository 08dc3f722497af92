"""A small HTTP client of the API for notebooks (smoke test, load test, demo)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import tenacity

from minutes.serve.bearer import auth_header


class ServiceError(RuntimeError):
    """The service answered with an error status; the message carries its detail."""


class NotReady(RuntimeError):
    """/readyz answered, but not yet with 200."""


class Client:
    def __init__(self, base_url: str, timeout_s: float = 120.0) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # notebooks log at INFO
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def _check(self, resp: httpx.Response) -> httpx.Response:
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail")
            except ValueError:
                detail = resp.text[:300]
            raise ServiceError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {detail}")
        return resp

    def _ready(self) -> dict[str, Any]:
        r = self.http.get("/readyz")
        if r.status_code != 200:
            raise NotReady(f"/readyz: {r.status_code}")
        return r.json()

    def wait_ready(self, timeout_s: float = 120.0, poll_s: float = 1.0) -> dict[str, Any]:
        """/readyz's body once it answers 200; a refused connection while starting is retried."""
        retrying = tenacity.Retrying(stop=tenacity.stop_after_delay(timeout_s), wait=tenacity.wait_fixed(poll_s),
                                     retry=tenacity.retry_if_exception_type((httpx.TransportError, NotReady)))
        try:
            return retrying(self._ready)
        except tenacity.RetryError:
            raise TimeoutError(f"{self.base_url} not ready after {timeout_s:.0f} s") from None

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
                               headers=auth_header(token))
        return self._check(r).json()

    def transcribe(self, path: Path, format: str = "json") -> Any:
        with Path(path).open("rb") as fh:
            r = self._check(self.http.post("/transcribe", params={"format": format},
                                           files={"file": (Path(path).name, fh)}))
        return r.json() if format == "json" else r.text
