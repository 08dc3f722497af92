"""Prometheus, Grafana and the answer log's database in the Chameleon platform compose: the
rendered file, the configuration minutes.platform.prometheus_server gives the platform's
Prometheus (checked by promtool), and Grafana's provisioning files against the dashboard."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from minutes.infra import configure
from minutes.platform import prometheus_server
from tests.infra.conftest import SECRET
from tests.infra.test_closed_by_default import PLATFORM, platform_compose, platform_compose_text

FILES = PLATFORM / "files"
DATASOURCES = FILES / "grafana" / "provisioning" / "datasources" / "minutes.yml"
DASHBOARDS = FILES / "grafana" / "provisioning" / "dashboards" / "minutes.yml"
DASHBOARD = FILES / "prometheus" / "minutes-dashboard.json"
SECRETS = ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD", "MINUTES_DB_PASSWORD",
           "GRAFANA_ADMIN_PASSWORD")


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> host path of a service's bind mounts."""
    out = {}
    for v in service["volumes"]:
        host, container = v.split(":")[:2]
        out[container] = host
    return out


def _tasks() -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in yaml.safe_load((PLATFORM / "tasks" / "compose.yml").read_text())}


def test_prometheus_loads_the_repository_rules_and_scrapes_the_service(params) -> None:
    prom = platform_compose(params)["services"]["prometheus"]
    assert prom["image"].startswith("prom/prometheus:v") and prom["image"] != "prom/prometheus:latest"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    assert _mounts(prom)["/etc/prometheus"] == "/opt/minutes-platform/prometheus"
    files = configure.extravars(params, "compose")["prometheus_files"]
    cfg = yaml.safe_load(files["prometheus.yml"])
    names = [p.name for p in prometheus_server.rule_files()]
    assert "minutes-rules.yml" in names
    assert cfg["rule_files"] == [f"/etc/prometheus/rules/{n}" for n in names]
    # the same job as the local server's (one function renders both), other paths
    local = prometheus_server.config(params)
    assert cfg["scrape_configs"] == prometheus_server.scrape_configs("/etc/prometheus/targets.json")
    assert local["scrape_configs"] == prometheus_server.scrape_configs(str(prometheus_server.targets_file(params)))
    assert cfg["global"] == local["global"]
    groups = json.loads(files["targets.json"])
    want = {a: f"api-{a}:8800" for a in params.serve.deployments} | {"router": "router:8850"}  # the canary router too
    assert groups == [{"targets": [want[d]], "labels": {"deployment": d}} for d in sorted(want)]
    # the role copies the rule files where prometheus.yml names them, and these two files beside
    tasks = _tasks()
    rules = tasks["Prometheus' rule files (the *-rules.yml that prometheus.yml names)"]
    assert "prometheus/*-rules.yml" in rules["loop"] and rules["ansible.builtin.copy"]["dest"].endswith(
        "/prometheus/rules/{{ item | basename }}")
    assert "{{ prometheus_files | dict2items }}" in tasks[
        "Prometheus' configuration and targets (the scrape job of minutes.platform.prometheus_server)"]["loop"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (Debian package prometheus)")
def test_promtool_accepts_the_platform_configuration(params, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's prometheus.yml with its rule file and targets, laid out as in the container
    (the folder moved to tmp_path): `promtool check config` reads and checks all of them."""
    monkeypatch.setattr(prometheus_server, "PLATFORM_CONFIG_DIR", str(tmp_path))
    for name, text in prometheus_server.platform_files(params).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "rules").mkdir()
    for rule in prometheus_server.rule_files():
        shutil.copy(rule, tmp_path / "rules" / rule.name)
    done = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr and "rules found" in done.stdout + done.stderr
    (tmp_path / "rules" / "minutes-rules.yml").write_text("groups: [{name: x, rules: [{record: a, expr: 'rate('}]}]\n")
    assert subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, timeout=60).returncode != 0


def test_grafana_is_provisioned_with_the_dashboards_datasource(params) -> None:
    compose = platform_compose(params)
    graf = compose["services"]["grafana"]
    assert graf["image"].startswith("grafana/grafana:") and not graf["image"].endswith(":latest")
    mounts = _mounts(graf)
    assert mounts["/etc/grafana/provisioning"] == "/opt/minutes-platform/grafana/provisioning"
    datasources = yaml.safe_load(DATASOURCES.read_text())
    providers = yaml.safe_load(DASHBOARDS.read_text())
    assert datasources["apiVersion"] == providers["apiVersion"] == 1
    (ds,) = datasources["datasources"]
    assert ds["type"] == "prometheus" and ds["access"] == "proxy"
    # the address of the compose service on the platform network, at its container port
    assert ds["url"] == "http://prometheus:9090"
    assert compose["services"]["prometheus"]["ports"][0].endswith(":9090") and "platform" in graf["networks"]
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]} | {
        t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"] if "datasource" in t}
    assert uids == {ds["uid"]}
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and mounts[provider["options"]["path"]] == "/opt/minutes-platform/grafana/dashboards"
    copied = {(i["src"], i["dest"]) for i in _tasks()[
        "Dashboard, Grafana's provisioning and the answer log's database script (repository files)"]["loop"]}
    assert ("prometheus/minutes-dashboard.json", "grafana/dashboards/minutes-dashboard.json") in copied
    for f in (DATASOURCES, DASHBOARDS):
        rel = str(f.relative_to(FILES))
        assert (rel, rel) in copied
    assert graf["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_secrets_come_from_the_env_file_only(params, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in SECRETS:
        monkeypatch.setenv(key, SECRET)
    text = platform_compose_text(params)
    assert SECRET not in text
    services = yaml.safe_load(text)["services"]
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD}"
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert services["minutes-db"]["environment"]["MINUTES_DB_PASSWORD"] == "${MINUTES_DB_PASSWORD}"
    secrets_task = _tasks()["Secret values (controller environment, else generated once on the controller)"]
    values = secrets_task["ansible.builtin.set_fact"]["platform_secrets"]
    for key in ("MINUTES_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert values[key].startswith(f"{{{{ lookup('env', '{key}') or lookup('ansible.builtin.password'")
    assert secrets_task["no_log"] is True
    for f in [*FILES.rglob("*.yml"), *FILES.rglob("*.json"), *FILES.rglob("*.sql")]:
        assert "PASSWORD '" not in f.read_text() and SECRET not in f.read_text(), f


def test_every_one_shot_is_adopted_so_up_wait_succeeds(params) -> None:
    """`docker compose up --wait` fails on a container that exits unless a long-running service
    waits for it with service_completed_successfully."""
    services = platform_compose(params)["services"]
    one_shots = {n for n, s in services.items() if s.get("restart", "no") == "no"}
    assert one_shots == {"minio-bucket", "minutes-db"}
    adopted = {dep for s in services.values() if s.get("restart") == "unless-stopped"
               for dep, cond in (s.get("depends_on") or {}).items()
               if cond.get("condition") == "service_completed_successfully"}
    assert one_shots <= adopted
    db = services["minutes-db"]
    assert db["command"][0] == "psql" and _mounts(db)["/minutes-db.sql"] == "/opt/minutes-platform/postgres/minutes-db.sql"
    assert db["depends_on"]["postgres"]["condition"] == "service_healthy"
