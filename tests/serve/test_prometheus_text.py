"""metric_value reads what prometheus_client itself exposes (counters, gauges, histograms)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from minutes.serve.prometheus_text import metric_value


def _exposition() -> str:
    reg = CollectorRegistry()
    requests = Counter("demo_requests", "requests", ["route", "status"], registry=reg)
    requests.labels("/ask", "200").inc(3)
    requests.labels("/ask", "422").inc()
    Gauge("demo_chunks", "chunks", registry=reg).set(42)
    latency = Histogram("demo_latency_seconds", "latency", ["route"], buckets=(0.1, 1.0), registry=reg)
    for v in (0.05, 0.5, 2.0):
        latency.labels("/ask").observe(v)
    return generate_latest(reg).decode()


def test_reads_counters_gauges_and_histogram_samples() -> None:
    text = _exposition()
    assert metric_value(text, "demo_requests_total", route="/ask", status="200") == 3.0
    assert metric_value(text, "demo_requests_total", route="/ask", status="422") == 1.0
    assert metric_value(text, "demo_chunks") == 42.0
    assert metric_value(text, "demo_latency_seconds_count", route="/ask") == 3.0
    assert metric_value(text, "demo_latency_seconds_bucket", route="/ask", le="1.0") == 2.0


def test_labels_must_match_exactly_and_absent_is_none() -> None:
    text = _exposition()
    assert metric_value(text, "demo_requests_total", route="/ask") is None  # status missing
    assert metric_value(text, "demo_requests_total", route="/ask", status="500") is None
    assert metric_value(text, "demo_requests") is None  # the family, not a sample
    assert metric_value("", "demo_chunks") is None
