"""The Grafana dashboard of the service (ansible/roles/platform/files/prometheus/
minutes-dashboard.json) read as panels, and the same panels drawn from Prometheus' HTTP API.

The JSON file is the one definition of the panels: Grafana on the platform shows it, and
notebook 70 (local, where there is no Grafana) plots each panel's expression with matplotlib.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from minutes import REPO_ROOT

if TYPE_CHECKING:
    from minutes.online.prometheus_query import PrometheusClient

DASHBOARD = REPO_ROOT / "ansible" / "roles" / "platform" / "files" / "prometheus" / "minutes-dashboard.json"
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Panel:
    title: str
    expr: str
    legend: str
    unit: str


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any] | None = None) -> list[Panel]:
    """Each target of each panel (one target per panel here)."""
    d = dashboard or load_dashboard()
    return [Panel(p["title"], t["expr"], t.get("legendFormat", ""), p.get("fieldConfig", {}).get("defaults", {})
                  .get("unit", "none")) for p in d["panels"] for t in p["targets"]]


def legend(template: str, labels: dict[str, Any]) -> str:
    """Grafana's legend format ({{label}}) filled from a series' labels."""
    return _LEGEND.sub(lambda m: str(labels.get(m.group(1), "")), template) or "value"


def panel_series(prom: "PrometheusClient", start: float, end: float, step: float) -> dict[str, pd.DataFrame]:
    """{panel title: long frame (time, value, series)} over [start, end]."""
    out = {}
    for p in panels():
        df = prom.query_range(p.expr, start, end, step)
        label_cols = [c for c in df.columns if c not in ("time", "value")]
        df["series"] = [legend(p.legend, dict(zip(label_cols, row))) for row in df[label_cols].itertuples(index=False)] \
            if len(df) else []
        out[p.title] = df
    return out


def plot_panels(series: dict[str, pd.DataFrame], spans: pd.DataFrame | None = None, cols: int = 2) -> Any:
    """One axis per panel; phases of simulated traffic (name, start, end in epoch s) shaded."""
    import matplotlib.pyplot as plt

    rows = (len(series) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3 * rows), squeeze=False, sharex=True)
    for ax, (title, df) in zip(axes.flat, series.items()):
        for name, g in (df.groupby("series") if len(df) else []):
            ax.plot(g["time"], g["value"], label=name)
        if spans is not None:
            for i, ph in enumerate(spans.itertuples(index=False)):
                ax.axvspan(pd.Timestamp(ph.start, unit="s", tz="UTC"), pd.Timestamp(ph.end, unit="s", tz="UTC"),
                           alpha=0.08 * (1 + i % 2), color="grey")
        ax.set_title(title, fontsize=9)
        if len(df):
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def alarms_by_phase(prom: "PrometheusClient", spans: pd.DataFrame, step: float) -> pd.DataFrame:
    """Per phase and drift test: the share of evaluations with the alarm raised (the service's
    minutes_drift_alarm gauge as scraped), and the median p-value."""
    rows = []
    for ph in spans.itertuples(index=False):
        for name, expr in (("alarm", "max by (test) (minutes_drift_alarm)"),
                           ("p_value", "min by (test) (minutes_drift_p_value)")):
            df = prom.query_range(expr, ph.start, ph.end, step)
            for test, g in (df.groupby("test") if len(df) else []):
                rows.append({"phase": ph.phase, "test": test, name: float(g["value"].mean() if name == "alarm"
                                                                         else g["value"].median())})
    if not rows:
        return pd.DataFrame(columns=["phase", "test", "alarm_share", "median_p"])
    df = pd.DataFrame(rows).groupby(["phase", "test"], sort=False).first().reset_index()
    return df.rename(columns={"alarm": "alarm_share", "p_value": "median_p"})
