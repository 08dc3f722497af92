"""The Prometheus server that scrapes the service: local (Debian's `prometheus` on loopback) or the
platform's.

Local profiles start `prometheus` if none answers on `monitor.prometheus_port` and reuse it if one
does, like the MLflow server. Its configuration is written under <work_dir>/prometheus: the
scrape job `minutes` reads its targets from a file (Prometheus' file-based service discovery,
which re-reads the file when it changes), so adding a deployment (a canary on another port) is
`set_targets(...)` with no restart; `reload()` re-reads prometheus.yml and the rule files
(`--web.enable-lifecycle`'s /-/reload). The rules are the repository's files in
ansible/roles/platform/files/prometheus (the ones promtool checks). The TSDB lives beside them.
The chameleon profile only points at the platform's URL (`monitor.prometheus_url`); that server's
configuration (`platform_files`, the same scrape job) is written by the platform role.
"""
from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import yaml

from minutes import REPO_ROOT
from minutes.config import Params
from minutes.io import write_json, write_text
from minutes.platform.processes import Service

RULES_DIR = REPO_ROOT / "ansible" / "roles" / "platform" / "files" / "prometheus"
#: the rule files Prometheus loads (the *.test.yml beside them are promtool's unit tests)
RULES_GLOB = "*-rules.yml"
JOB = "minutes"


def prometheus_dir(params: Params) -> Path:
    return params.stage_dir("prometheus")


def targets_file(params: Params) -> Path:
    return prometheus_dir(params) / "targets.json"


def server_url(params: Params) -> str:
    m = params.monitor
    return m.prometheus_url.rstrip("/") or f"http://{m.prometheus_host}:{m.prometheus_port}"


def local_service(params: Params) -> Service:
    m = params.monitor
    return Service("prometheus", prometheus_dir(params), f"http://{m.prometheus_host}:{m.prometheus_port}/-/ready")


def default_targets(params: Params) -> dict[str, str]:
    """{deployment: host:port}: the service of the profile, plus `monitor.extra_targets`."""
    return {params.serve.model_alias: f"{params.serve.host}:{params.serve.port}", **params.monitor.extra_targets}


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob(RULES_GLOB))


def _seconds(value: float) -> str:
    return f"{int(value * 1000)}ms"


def scrape_configs(targets_path: str) -> list[dict]:
    """The scrape job of every Prometheus that watches the service, local and the platform's:
    job `minutes`, the targets (each labelled with its deployment) from a file it re-reads."""
    return [{"job_name": JOB, "metrics_path": "/metrics",
             "file_sd_configs": [{"files": [targets_path], "refresh_interval": "30s"}]}]


def target_groups(targets: dict[str, str]) -> list[dict]:
    """The targets file's content: {deployment: host:port} as file_sd groups."""
    return [{"targets": [addr], "labels": {"deployment": name}} for name, addr in sorted(targets.items())]


def config(params: Params, rules: list[str] | None = None, targets_path: str | None = None) -> dict:
    """prometheus.yml: one job scraping every target of the targets file, the repository's rules
    (local paths unless `rules` and `targets_path` say where they are, as in a container)."""
    m = params.monitor
    return {
        "global": {"scrape_interval": _seconds(m.scrape_interval_s),
                   "evaluation_interval": _seconds(m.evaluation_interval_s),
                   "scrape_timeout": _seconds(min(m.scrape_interval_s, 10.0))},
        "rule_files": [str(p) for p in rule_files()] if rules is None else list(rules),
        "scrape_configs": scrape_configs(str(targets_file(params)) if targets_path is None else targets_path),
    }


#: Inside the platform's Prometheus container (ansible/roles/platform): its configuration
#: folder, and the port every API container of the service role listens on.
PLATFORM_CONFIG_DIR = "/etc/prometheus"
SERVICE_CONTAINER_PORT = 8800


#: The canary router container's port on the platform network (the service role's compose file).
ROUTER_CONTAINER_PORT = 8850


def platform_targets(params: Params) -> dict[str, str]:
    """The service role's containers on the platform network, as {deployment: host:port}:
    `api-<alias>` (one per serve.deployments) and the canary router when it runs."""
    targets = {alias: f"api-{alias}:{SERVICE_CONTAINER_PORT}" for alias in params.serve.deployments}
    if params.serve.compose_router:
        targets["router"] = f"router:{ROUTER_CONTAINER_PORT}"
    return targets


def platform_files(params: Params) -> dict[str, str]:
    """{file name: text} of the platform's Prometheus configuration folder: prometheus.yml (the
    same job as the local server's) and targets.json; the rule files are copied beside them
    into rules/ by the platform role."""
    d = PLATFORM_CONFIG_DIR
    cfg = config(params, rules=[f"{d}/rules/{p.name}" for p in rule_files()], targets_path=f"{d}/targets.json")
    return {"prometheus.yml": yaml.safe_dump(cfg, sort_keys=False),
            "targets.json": json.dumps(target_groups(platform_targets(params)), indent=2) + "\n"}


def set_targets(params: Params, targets: dict[str, str]) -> Path:
    """Write the scrape targets ({deployment: host:port}, each labelled `deployment`) atomically;
    a running Prometheus picks the new file up by itself within a few seconds."""
    return write_json(targets_file(params), target_groups(targets))


def write_config(params: Params, targets: dict[str, str] | None = None) -> Path:
    d = prometheus_dir(params)
    set_targets(params, default_targets(params) if targets is None else targets)
    return write_text(d / "prometheus.yml", yaml.safe_dump(config(params), sort_keys=False))


def binary() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").is_file() else None)
    if found is None:
        raise FileNotFoundError("prometheus is not installed (Debian package prometheus; `make system-packages` as root)")
    return found


def ensure_server(params: Params, targets: dict[str, str] | None = None, wait_s: float = 60.0) -> str:
    """Make sure a Prometheus answers; returns its URL. Locally the config and targets are
    (re)written first, and a server already running re-reads them."""
    if params.monitor.prometheus_url:
        return server_url(params)
    m = params.monitor
    svc = local_service(params)
    cfg = write_config(params, targets)
    if svc.check_ours():
        reload(params)
        return server_url(params)
    svc.start([binary(), f"--config.file={cfg}", f"--storage.tsdb.path={prometheus_dir(params) / 'data'}",
               f"--storage.tsdb.retention.time={m.retention}",
               f"--web.listen-address={m.prometheus_host}:{m.prometheus_port}", "--web.enable-lifecycle",
               "--log.level=warn"], wait_s=wait_s)
    return server_url(params)


def reload(params: Params, timeout: float = 10.0) -> None:
    """Ask the server to re-read prometheus.yml and the rule files (POST /-/reload)."""
    req = urllib.request.Request(f"{server_url(params)}/-/reload", method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        if resp.status != 200:
            raise RuntimeError(f"Prometheus refused to reload: HTTP {resp.status}")


def stop_server(params: Params) -> bool:
    """Stop the local server (no-op for the platform's)."""
    if params.monitor.prometheus_url:
        return False
    return local_service(params).stop()
