"""Reading series back from Prometheus' HTTP API (/api/v1/query, /api/v1/query_range) as pandas
frames, for notebook 70's plots and for tests that check what Prometheus scraped.

One row per sample: the series' labels as columns (`__name__` as `metric`), then `time`
(a UTC timestamp) and `value` (a float; NaN and ±Inf kept as Prometheus sends them).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pandas as pd


class PrometheusError(RuntimeError):
    """Prometheus answered an error (bad PromQL, timeout); the message is Prometheus' own."""


def _when(t: float | datetime | None) -> float:
    if t is None:
        return time.time()
    return t.timestamp() if isinstance(t, datetime) else float(t)


class PrometheusClient:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "PrometheusClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, path: str, **params: Any) -> Any:
        resp = self.http.get(path, params=params)
        try:
            body = resp.json()
        except ValueError:
            resp.raise_for_status()
            raise PrometheusError(f"{path}: not a JSON answer (HTTP {resp.status_code})") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType', 'error')}: {body.get('error', resp.text[:200])}")
        return body["data"]

    def query(self, expr: str, at: float | datetime | None = None) -> pd.DataFrame:
        """The instant vector (or scalar) of `expr` at `at` (default: now)."""
        data = self._get("/api/v1/query", query=expr, time=_when(at))
        if data["resultType"] in ("scalar", "string"):
            ts, value = data["result"]
            return _frame([({}, [[ts, value]])])
        return _frame([(r["metric"], [r["value"]]) for r in data["result"]])

    def query_range(self, expr: str, start: float | datetime, end: float | datetime | None = None,
                    step: float = 15.0) -> pd.DataFrame:
        """`expr` evaluated every `step` seconds from `start` to `end` (default: now)."""
        data = self._get("/api/v1/query_range", query=expr, start=_when(start), end=_when(end), step=step)
        return _frame([(r["metric"], r["values"]) for r in data["result"]])

    def targets(self) -> pd.DataFrame:
        """Active scrape targets: labels, health ("up"/"down"), last error."""
        data = self._get("/api/v1/targets", state="active")
        return pd.DataFrame([{**t["labels"], "health": t["health"], "last_error": t.get("lastError", ""),
                              "scrape_url": t["scrapeUrl"]} for t in data["activeTargets"]])

    def rules(self) -> pd.DataFrame:
        """Loaded recording and alert rules: group, name, type, health, state (alerts)."""
        data = self._get("/api/v1/rules")
        return pd.DataFrame([{"group": g["name"], "name": r["name"], "type": r["type"], "health": r["health"],
                              "state": r.get("state", "")} for g in data["groups"] for r in g["rules"]])

    def wait_for(self, expr: str, timeout: float = 60.0, poll: float = 1.0) -> pd.DataFrame:
        """Poll until `expr` returns at least one sample; TimeoutError names the expression."""
        deadline = time.time() + timeout
        while True:
            df = self.query(expr)
            if len(df):
                return df
            if time.time() > deadline:
                raise TimeoutError(f"no sample of {expr!r} at {self.url} after {timeout:.0f} s")
            time.sleep(poll)


def _frame(series: list[tuple[dict[str, str], list[list[Any]]]]) -> pd.DataFrame:
    rows = []
    for labels, values in series:
        named = {("metric" if k == "__name__" else k): v for k, v in labels.items()}
        for ts, value in values:
            rows.append({**named, "time": datetime.fromtimestamp(float(ts), tz=timezone.utc), "value": float(value)})
    if not rows:
        return pd.DataFrame(columns=["time", "value"])
    return pd.DataFrame(rows)
