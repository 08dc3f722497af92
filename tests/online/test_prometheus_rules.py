"""The Prometheus rules in ansible/roles/platform/files/prometheus: valid for promtool, right
on hand-made series (promtool's own unit tests), and naming only metrics the service exposes."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from minutes import REPO_ROOT
from minutes.online.drift import DriftOutcome, WindowResult
from minutes.serve.drift_watch import publish
from minutes.serve.metrics import Metrics

RULES_DIR = REPO_ROOT / "ansible" / "roles" / "platform" / "files" / "prometheus"
RULES = RULES_DIR / "minutes-rules.yml"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool is not installed (Debian package prometheus; make system-packages as root)")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_checks_the_rules() -> None:
    out = promtool("check", "rules", RULES.name)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


@needs_promtool
def test_rules_compute_what_they_say_on_known_series() -> None:
    out = promtool("test", "rules", "minutes-rules.test.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_rules_name_only_metrics_the_service_exposes() -> None:
    m = Metrics()
    m.requests.labels("POST", "/ask", "200").inc()
    m.latency.labels("/ask").observe(0.01)
    m.feedback.labels("up", "none").inc()
    m.set_model("staging", "3")
    publish(m, WindowResult(30, DriftOutcome(0.01, 0.2, False), DriftOutcome(0.1, 0.5, False)))
    exposed = {s.name for fam in text_string_to_metric_families(m.render().decode()) for s in fam.samples}
    groups = yaml.safe_load(RULES.read_text())["groups"]
    exprs = " ".join(r["expr"] for g in groups for r in g["rules"])
    used = set(re.findall(r"(?<![:\w])minutes_[a-z_]+(?![:\w])", exprs))
    assert used and used <= exposed, used - exposed
    records = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    assert {"model_version:minutes_ask_latency_seconds:p95_5m", "model_version:minutes_requests_5xx:ratio_5m",
            "model_version:minutes_feedback_down:ratio_30m", "model_version:minutes_drift_statistic:max"} <= records
