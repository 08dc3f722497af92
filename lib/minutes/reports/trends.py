"""How each headline figure moved across runs, per profile (local and ci runs are not comparable).

The sparklines are inline SVG written here: the index is rewritten after every notebook, and a
polyline needs neither matplotlib's start-up time nor a PNG per figure to stay self-contained.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from minutes.reports.headlines import (HEADLINES, Headline, format_change, format_value, is_cached,
                                       judgement, number, value_of)

#: At most this many of a profile's most recent runs per trend.
TREND_RUNS = 30
#: How a value or stage served from the stage cache is marked.
CACHED_TAG = "<span class='tag' title='served from the stage cache'>cached</span>"


@dataclass(frozen=True)
class Point:
    run_id: str
    profile: str
    value: Any
    cached: bool


def stage_metrics(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each finished notebook's recorded metrics by name (pending ones have no metrics entry yet)."""
    return {nb["name"]: nb["metrics"] or {} for nb in record.get("notebooks", [])
            if "name" in nb and "metrics" in nb}


def chronological(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Oldest first (run ids begin with their start time, so they break ties)."""
    return sorted(records, key=lambda r: (str(r.get("started_at") or ""), str(r.get("run_id", ""))))


def series(records: Sequence[Mapping[str, Any]], stage: str, headline: Headline) -> list[Point]:
    """The figure in every run of `records` that recorded it, oldest first, the last TREND_RUNS."""
    points = []
    for r in chronological(records):
        metrics = stage_metrics(r).get(stage)
        if metrics is None:
            continue
        value = value_of(headline, metrics)
        if value is not None:
            points.append(Point(str(r.get("run_id", "")), str(r.get("profile", "")), value, is_cached(metrics)))
    return points[-TREND_RUNS:]


def sparkline(values: Sequence[float], headline: Headline, width: int = 160, height: int = 36) -> str:
    """An inline SVG line of `values` (oldest left); the last point is coloured by its change."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    pad = 4
    xs = [pad + i * (width - 2 * pad) / (len(values) - 1) for i in range(len(values))]
    ys = [height - pad - (v - lo) / span * (height - 2 * pad) for v in values]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    colour = {"better": "#0a7a2f", "worse": "#b00020"}.get(judgement(headline, values[-1] - values[-2]), "#555")
    title = html.escape(f"{headline.label}: {format_value(headline, values[0])} to "
                        f"{format_value(headline, values[-1])} over {len(values)} runs")
    return (f"<svg class='spark' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"role='img'><title>{title}</title>"
            f"<polyline fill='none' stroke='#3465a4' stroke-width='1.5' points='{line}'/>"
            f"<circle cx='{xs[-1]:.1f}' cy='{ys[-1]:.1f}' r='2.5' fill='{colour}'/></svg>")


def _runs_table(points: Sequence[Point], headline: Headline) -> str:
    rows = "".join(
        f"<tr><td><a href='runs/{html.escape(quote(p.run_id))}/index.html'>{html.escape(p.run_id)}</a></td>"
        f"<td>{html.escape(p.profile)}</td><td>{html.escape(format_value(headline, p.value))}"
        f"{' ' + CACHED_TAG if p.cached else ''}</td></tr>"
        for p in reversed(points))
    return (f"<details><summary>{len(points)} run{'s' if len(points) != 1 else ''}</summary><table class='runs'>"
            f"<tr><th>run</th><th>profile</th><th>value</th></tr>{rows}</table></details>")


def _figure_row(stage: str, headline: Headline, points: Sequence[Point]) -> str:
    latest = points[-1].value
    change = ""
    numbers = [n for n in (number(p.value) for p in points) if n is not None]
    if len(points) >= 2 and number(latest) is not None and number(points[-2].value) is not None:
        delta = float(latest) - float(points[-2].value)
        change = (f"<span class='{judgement(headline, delta)}'>"
                  f"{html.escape(format_change(headline, delta))}</span>")
    elif len(points) >= 2 and latest != points[-2].value:
        change = f"was {html.escape(format_value(headline, points[-2].value))}"
    return (f"<tr><td>{html.escape(headline.label)}</td><td>{html.escape(stage)}</td>"
            f"<td>{html.escape(format_value(headline, latest))}</td><td>{change}</td>"
            f"<td>{sparkline(numbers, headline) if len(numbers) == len(points) else ''}</td>"
            f"<td>{_runs_table(points, headline)}</td></tr>")


def trends_html(records: Sequence[Mapping[str, Any]]) -> str:
    """One table per profile: each headline figure's latest value, change, sparkline and runs."""
    by_profile: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_profile.setdefault(str(r.get("profile", "")), []).append(r)
    parts = []
    for profile in sorted(by_profile):
        rows = [_figure_row(stage, h, points)
                for stage, headlines in HEADLINES.items() for h in headlines
                if (points := series(by_profile[profile], stage, h))]
        if not rows:
            continue
        n = len(by_profile[profile])
        parts.append(f"<h3>profile {html.escape(profile)} ({n} run{'s' if n != 1 else ''})</h3>"
                     "<table class='trend'><tr><th>figure</th><th>stage</th><th>latest</th>"
                     "<th>vs previous run</th><th>trend (oldest to latest)</th><th>runs</th></tr>"
                     + "".join(rows) + "</table>")
    if not parts:
        return "<h2>Trends</h2><p>No run has recorded a headline figure yet.</p>"
    return "<h2>Trends</h2>" + "".join(parts)
