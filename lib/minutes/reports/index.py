"""outputs/index.html (every run) and runs/<id>/index.html (one run): browsable reports.

Both lead with the headline figures (minutes.reports.headlines); the index adds their trend
across runs. Every value comes from a run record, so every value is escaped.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from minutes.io import write_text
from minutes.reports.headlines import HEADLINES, format_value, is_cached, value_of
from minutes.reports.trends import CACHED_TAG, stage_metrics, trends_html
from minutes.runs import log_path

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#0a7a2f;font-weight:600}.failed{color:#b00020;font-weight:600}
.running,.pending{color:#a66b00}code{font-size:90%}td.m{font-size:85%;max-width:40em}
td.h{white-space:nowrap}.h b{font-variant-numeric:tabular-nums}.better{color:#0a7a2f}.worse{color:#b00020}
.tag{background:#e8e8e8;color:#555;border-radius:3px;padding:0 4px;font-size:80%;font-weight:normal}
details summary{cursor:pointer;color:#3465a4}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt_metrics(metrics: dict[str, Any], limit: int | None = None) -> str:
    items = []
    for k, v in list(metrics.items())[:limit]:
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v)[:80]
        items.append(f"{_esc(k)}={_esc(v)}")
    return "<br>".join(items)


def headline_cell(stage: str, metrics: Mapping[str, Any]) -> str:
    """The stage's headline figures as 'label <b>value</b>' lines, tagged when served from cache."""
    lines = []
    for h in HEADLINES.get(stage, ()):
        value = value_of(h, metrics)
        hover = f" title='{_esc(metrics[h.detail])}'" if h.detail and metrics.get(h.detail) else ""
        lines.append(f"{_esc(h.label)} <b{hover}>{_esc(format_value(h, value))}</b>")
    return (CACHED_TAG + "<br>" if is_cached(metrics) else "") + "<br>".join(lines)


def _duration(record: dict[str, Any]) -> float:
    return round(sum(n.get("duration_s", 0) or 0 for n in record.get("notebooks", [])), 1)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_esc(title)}</h1>{body}</body></html>\n")


def _status(status: Any) -> str:
    return f"<span class='{_esc(status)}'>{_esc(status)}</span>"


def run_page(run_dir: Path, record: dict[str, Any]) -> Path:
    rows = []
    for nb in record.get("notebooks", []):
        name = str(nb["name"])
        link = f"<a href='{_esc(quote(nb['report']))}'>{_esc(name)}</a>" if nb.get("report") else _esc(name)
        log = log_path(run_dir, name)
        if log.is_file():
            link += f" · <a href='{_esc(quote(str(log.relative_to(run_dir))))}'>log</a>"
        err = f"<pre>{_esc(nb['error'])}</pre>" if nb.get("error") else ""
        metrics = nb.get("metrics") or {}
        head = headline_cell(name, metrics) if name in HEADLINES else (CACHED_TAG if is_cached(metrics) else "")
        rows.append(f"<tr><td>{link}</td><td>{_status(nb.get('status'))}</td><td>{_esc(nb.get('duration_s', ''))}</td>"
                    f"<td class='h'>{head}</td><td class='m'>{_fmt_metrics(metrics)}{err}</td></tr>")
    git = record.get("git", {})
    body = (f"<p>profile <b>{_esc(record.get('profile'))}</b>, status {_status(record.get('status'))}, "
            f"started {_esc(record.get('started_at'))}, commit <code>{_esc(git.get('commit'))}</code>"
            f"{' (dirty)' if git.get('dirty') else ''}, "
            f"overrides <code>{_esc(' '.join(record.get('overrides', [])))}</code></p>"
            "<table><tr><th>notebook</th><th>status</th><th>seconds</th><th>headline figures</th>"
            "<th>everything recorded</th></tr>"
            + "".join(rows) + "</table><p><a href='run.json'>run.json</a> · <a href='../../index.html'>all runs</a></p>")
    return write_text(run_dir / "index.html", _page(f"Run {record.get('run_id')}", body))


def _runs_table(records: list[dict[str, Any]]) -> str:
    """Newest first: a column per headline stage that any run has, then everything else folded."""
    stages = [s for s in HEADLINES if any(s in stage_metrics(r) for r in records)]
    rows = []
    for r in records:
        per_stage = stage_metrics(r)
        cells = "".join(f"<td class='h'>{headline_cell(s, per_stage[s]) if s in per_stage else ''}</td>"
                        for s in stages)
        everything: dict[str, Any] = {}
        for metrics in per_stage.values():
            everything.update(metrics)
        more = (f"<details><summary>{len(everything)} figures</summary>{_fmt_metrics(everything)}</details>"
                if everything else "")
        notebooks = r.get("notebooks", [])
        done = sum(nb.get("status") == "ok" for nb in notebooks)
        run_id = str(r.get("run_id", ""))
        rows.append(
            f"<tr><td><a href='runs/{_esc(quote(run_id))}/index.html'>{_esc(run_id)}</a></td>"
            f"<td>{_esc(r.get('profile'))}</td><td>{_status(r.get('status'))}</td>"
            f"<td>{done}/{len(notebooks)}</td><td>{_duration(r)}</td>{cells}<td class='m'>{more}</td></tr>")
    head = "".join(f"<th>{_esc(s)}</th>" for s in stages)
    return ("<table><tr><th>run</th><th>profile</th><th>status</th><th>notebooks ok</th><th>seconds</th>"
            f"{head}<th>all figures</th></tr>" + "".join(rows) + "</table>")


def write_index(runs_dir: Path) -> Path:
    """Rewrite every run page and the index of all runs (outputs/index.html)."""
    runs_dir = Path(runs_dir)
    records = []
    for path in sorted(runs_dir.glob("*/run.json"), reverse=True):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        run_page(path.parent, record)
        records.append(record)
    body = _runs_table(records) + trends_html(records)
    return write_text(runs_dir.parent / "index.html", _page("Minutes runs", body))
