"""The Grafana dashboard beside the rules: a well-formed dashboard whose every expression is valid
PromQL (promtool parses it as a rule) and reads only series the rules record."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from minutes.online.dashboard import DASHBOARD, legend, load_dashboard, panels
from minutes.platform.prometheus_server import rule_files


def test_dashboard_structure() -> None:
    d = load_dashboard()
    assert d["title"] and d["uid"] and isinstance(d["schemaVersion"], int)
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)) >= 4
    for p in d["panels"]:
        assert p["type"] == "timeseries" and p["title"]
        assert set(p["gridPos"]) == {"h", "w", "x", "y"} and 0 <= p["gridPos"]["x"] < 24
        assert p["datasource"]["type"] == "prometheus" and p["targets"]
        assert all(t["refId"] and t["expr"].strip() for t in p["targets"])
    titles = " ".join(p.title.lower() for p in panels(d))
    for needed in ("p95 latency", "5xx", "negative feedback", "drift"):
        assert needed in titles


def test_expressions_read_recorded_series_that_exist() -> None:
    groups = [g for f in rule_files() for g in yaml.safe_load(f.read_text())["groups"]]
    recorded = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    for p in panels():
        used = set(re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", p.expr))
        assert used and used <= recorded, (p.title, used - recorded)
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", p.legend):
            assert label in ("model_version", "test"), (p.title, label)
    assert legend("{{test}}, version {{model_version}}", {"test": "mmd", "model_version": "3"}) == "mmd, version 3"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (Debian package prometheus)")
def test_every_expression_parses(tmp_path: Path) -> None:
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel_{i}:check", "expr": p.expr} for i, p in enumerate(panels())]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    out = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert DASHBOARD.parent.name == "prometheus"  # provisioned with the rules (ansible/roles/platform)
