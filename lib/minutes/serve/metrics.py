"""Prometheus metrics: requests, latency histogram, errors, model version, index size.

A registry per app (not the global one), so tests can run several apps in one process. The
middleware is plain ASGI (no BaseHTTPMiddleware) to keep the hot /ask path cheap, and labels
requests by route template so unknown URLs cannot blow up label cardinality.
"""
from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("minutes_requests", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram("minutes_request_latency_seconds", "request latency", ["route"], buckets=BUCKETS, registry=r)
        self.errors = Counter("minutes_errors", "responses with status >= 400", ["route", "status"], registry=r)
        self.model_version = Gauge("minutes_model_version", "registry version serving answers (0: extractive)",
                                   ["alias"], registry=r)
        self.index_chunks = Gauge("minutes_index_chunks", "chunks in the live index", registry=r)
        self.index_meetings = Gauge("minutes_index_meetings", "meetings the service can answer about", registry=r)
        self.ingests = Counter("minutes_ingests", "meetings ingested", registry=r)
        self.answers = Counter("minutes_answers", "answers by mode", ["mode"], registry=r)
        #: the version as a label (the gauge above holds it as a value), for joining per-process
        #: series to the model version in PromQL (ansible/roles/platform/files/prometheus)
        self.model_info = Gauge("minutes_model_info", "1 for the model version this process serves",
                                ["alias", "model_version"], registry=r)
        self.feedback = Counter("minutes_feedback", "feedback posted, by rating and the rated answer's model version "
                                "(none: extractive)", ["rating", "model_version"], registry=r)
        self.answer_log_errors = Counter("minutes_answer_log_errors", "answers that could not be logged", registry=r)
        #: drift of the questions asked (minutes.online.drift), per test: mmd (question embeddings)
        #: and top1_ks (retrieval confidence); the last window's statistic, p-value and alarm
        self.drift_statistic = Gauge("minutes_drift_statistic", "drift test statistic of the last window of "
                                     "questions (mmd: MMD², top1_ks: KS distance)", ["test"], registry=r)
        self.drift_p_value = Gauge("minutes_drift_p_value", "p-value of the last window's drift test", ["test"],
                                   registry=r)
        self.drift_alarm = Gauge("minutes_drift_alarm", "1 when the last window's p-value is below the alarm level",
                                 ["test"], registry=r)
        self.drift_tests = Counter("minutes_drift_tests", "windows of questions tested for drift", registry=r)

    def set_model(self, alias: str, version: str | None) -> None:
        """Both views of the served version: a number (0: extractive) and an info label."""
        self.model_version.labels(alias).set(float(version) if (version or "").isdigit() else 0)
        self.model_info.clear()
        self.model_info.labels(alias, version or "none").set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _route_of(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class MetricsMiddleware:
    """Counts every response and times it; the route is known after routing, so read it at the end."""

    def __init__(self, app: Callable[..., Awaitable[None]], metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_of(scope)
            m = self.metrics
            m.requests.labels(scope["method"], route, str(status[0])).inc()
            m.latency.labels(route).observe(time.perf_counter() - t0)
            if status[0] >= 400:
                m.errors.labels(route, str(status[0])).inc()
