"""The local Prometheus: started once and reused, scraping a real /metrics endpoint on loopback
(the service's own Metrics), evaluating the repository's rules, taking a second target without a
restart, re-reading its config on reload, and stopped."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from prometheus_client import start_http_server

from minutes.config import Params, load_params
from minutes.online.prometheus_query import PrometheusClient, PrometheusError
from minutes.platform import prometheus_server as ps
from minutes.serve.metrics import Metrics
from tests.online.ports import free_port

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None and not Path("/usr/bin/prometheus").is_file(),
                                reason="prometheus is not installed (Debian package prometheus)")


def exporter(version: str) -> tuple[int, Metrics, object]:
    """A real HTTP /metrics endpoint with the service's metrics, one model version, some traffic."""
    m = Metrics()
    m.set_model("staging", version)
    for _ in range(20):
        m.requests.labels("POST", "/ask", "200").inc()
        m.latency.labels("/ask").observe(0.02)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=m.registry)
    return port, m, server


@pytest.fixture
def params(tmp_path: Path) -> Iterator[Params]:
    p = load_params("ci", [f"work_dir={tmp_path}", f"monitor.prometheus_port={free_port()}",
                           "monitor.scrape_interval_s=0.5", "monitor.evaluation_interval_s=0.5"])
    yield p
    ps.stop_server(p)


def test_scrapes_targets_evaluates_rules_and_stops(params: Params) -> None:
    port_a, metrics_a, server_a = exporter("3")
    port_b, metrics_b, server_b = exporter("4")
    try:
        url = ps.ensure_server(params, targets={"production": f"127.0.0.1:{port_a}"})
        svc = ps.local_service(params)
        pid = svc.pid()
        assert pid is not None and svc.healthy() and url.endswith(str(params.monitor.prometheus_port))
        assert (ps.prometheus_dir(params) / "data").is_dir(), "TSDB must live under the work dir"
        with PrometheusClient(url) as prom:
            info = prom.wait_for('minutes_model_info{deployment="production"}', timeout=30)
            assert list(info["model_version"]) == ["3"] and list(info["job"]) == [ps.JOB]
            rules = prom.rules()
            assert {"model_version:minutes_requests:rate5m", "MinutesServerErrors"} <= set(rules["name"])
            assert (rules["health"] != "err").all(), rules
            # a second deployment (a canary on another port): no restart, the file is re-read
            ps.set_targets(params, {"production": f"127.0.0.1:{port_a}", "canary": f"127.0.0.1:{port_b}"})
            canary = prom.wait_for('minutes_model_info{deployment="canary"}', timeout=30)
            assert list(canary["model_version"]) == ["4"]
            # the recording rules run on the scraped series, per model version
            for _ in range(40):
                metrics_a.requests.labels("POST", "/ask", "200").inc(5)
                metrics_b.requests.labels("POST", "/ask", "500").inc(5)
                ratio = prom.query("model_version:minutes_requests_5xx:ratio_5m")
                by_version = dict(zip(ratio.get("model_version", []), ratio["value"]))
                if by_version.get("4", 0) > 0:  # NaN (0/0) until two scrapes of b saw requests
                    break
                time.sleep(0.5)
            assert by_version["3"] == 0 and by_version["4"] > 0.5, by_version
            start = time.time() - 30
            series = prom.query_range("minutes_model_info", start, step=1)
            assert {"time", "value", "deployment"} <= set(series.columns) and len(series) > 2
            with pytest.raises(PrometheusError, match="parse"):
                prom.query("sum(")
        # a second ensure reuses the running server (and makes it reload the config)
        assert ps.ensure_server(params, targets={"production": f"127.0.0.1:{port_a}"}) == url and svc.pid() == pid
    finally:
        server_a.shutdown()
        server_b.shutdown()
    assert ps.stop_server(params) is True
    assert svc.pid() is None and not svc.healthy()
    assert ps.stop_server(params) is False


def test_config_names_the_repository_rules_and_profile_intervals(params: Params) -> None:
    path = ps.write_config(params)
    out = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
    cfg = ps.config(params)
    assert cfg["global"]["scrape_interval"] == "500ms"
    assert [Path(f).name for f in cfg["rule_files"]] == ["minutes-rules.yml"]
    targets = ps.default_targets(load_params("ci", ["monitor.extra_targets={canary: '127.0.0.1:18500'}"]))
    assert targets == {"staging": f"127.0.0.1:{params.serve.port}", "canary": "127.0.0.1:18500"}


def test_platform_prometheus_is_only_pointed_at(tmp_path: Path) -> None:
    p = load_params("ci", [f"work_dir={tmp_path}", "monitor.prometheus_url=http://10.0.0.5:9090/"])
    assert ps.ensure_server(p) == "http://10.0.0.5:9090" and ps.stop_server(p) is False
    assert not ps.prometheus_dir(p).exists()
