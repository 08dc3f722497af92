"""Parameters of monitoring after deployment: the Prometheus server that scrapes the service
(minutes.platform.prometheus_server)."""
from __future__ import annotations

from pydantic import Field

from minutes.config.base import Section


class MonitorParams(Section):
    #: Empty: start (or reuse) a local Prometheus on loopback, TSDB under <work_dir>/prometheus;
    #: else the platform's Prometheus (chameleon), only queried.
    prometheus_url: str = ""
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int = Field(9095, ge=1, le=65535)
    #: How often the service is scraped and the rules are evaluated. Short on one machine so a
    #: few minutes of simulated traffic give a curve; the platform's default is 15 s.
    scrape_interval_s: float = Field(15.0, gt=0, le=300)
    evaluation_interval_s: float = Field(15.0, gt=0, le=300)
    #: How long the local TSDB keeps samples.
    retention: str = Field("7d", pattern=r"^\d+[smhdwy]$")
    #: Extra scrape targets besides the service (serve.host:serve.port), as {name: "host:port"}:
    #: e.g. a canary deployment on another port. The name becomes the `deployment` label.
    extra_targets: dict[str, str] = {}
