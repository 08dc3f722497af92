"""Flat rows (for pandas DataFrames) of plans, states and actions, as the notebooks show them."""
from __future__ import annotations

import json
from typing import Any

from minutes.infra.context import MissingCredentials, credentials_for


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def reservations(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per Blazar reservation of the plan's lease."""
    lease = plan["lease"]
    return [{"lease": lease["name"], "start": lease["start"], "end (UTC)": lease["end"],
             **{k: _cell(v) for k, v in res.items()}} for res in lease["reservations"]]


def request_fields(request: dict[str, Any]) -> list[dict[str, str]]:
    """A request (server create args, Terraform variables ...) as field/value rows."""
    return [{"field": k, "value": _cell(v)} for k, v in request.items()]


def security_rules(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per security-group rule (python-chi) or per port (Terraform makes the same groups)."""
    if "security_groups" in plan:
        return [{"group": g["name"], **{k: r[k] for k in ("direction", "ethertype", "protocol", "port_range_min",
                                                          "port_range_max", "remote_ip_prefix")}}
                for g in plan["security_groups"] for r in g["rules"]]
    tf = plan.get("terraform_vars", {})
    return [{"group": f"minutes-allow-{svc}-{tf['suffix']}", "direction": "ingress", "ethertype": "IPv4",
             "protocol": "tcp", "port_range_min": port, "port_range_max": port,
             "remote_ip_prefix": tf["allowed_cidr"]} for svc, port in sorted(tf.get("ports", {}).items(),
                                                                           key=lambda kv: kv[1])]


def credentials_status(sites: list[str]) -> list[dict[str, str]]:
    """Per site: which environment variables would authenticate, or what is missing. No values."""
    rows = []
    for site in sites:
        try:
            creds = credentials_for(site)
            rows.append({"site": site, "status": "found", "auth_type": creds.auth_type,
                         "variables": ", ".join(creds.source)})
        except MissingCredentials as exc:
            rows.append({"site": site, "status": "missing", "auth_type": "", "variables": str(exc)})
    return rows
