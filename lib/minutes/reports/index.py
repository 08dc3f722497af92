"""outputs/index.html (every run) and runs/<id>/index.html (one run): browsable reports."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from minutes.io import write_text

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#0a7a2f;font-weight:600}.failed{color:#b00020;font-weight:600}
.running,.pending{color:#a66b00}code{font-size:90%}td.m{font-size:85%;max-width:40em}
"""


def _fmt_metrics(metrics: dict[str, Any], limit: int = 12) -> str:
    items = []
    for k, v in list(metrics.items())[:limit]:
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v)[:80]
        items.append(f"{html.escape(str(k))}={html.escape(str(v))}")
    return "<br>".join(items)


def _duration(record: dict[str, Any]) -> float:
    return round(sum(n.get("duration_s", 0) or 0 for n in record.get("notebooks", [])), 1)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def run_page(run_dir: Path, record: dict[str, Any]) -> Path:
    rows = []
    for nb in record.get("notebooks", []):
        link = (f"<a href='{html.escape(nb['report'])}'>{html.escape(nb['name'])}</a>"
                if nb.get("report") else html.escape(nb["name"]))
        err = f"<pre>{html.escape(nb['error'])}</pre>" if nb.get("error") else ""
        rows.append(f"<tr><td>{link}</td><td class='{nb['status']}'>{nb['status']}</td>"
                    f"<td>{nb.get('duration_s', '')}</td><td class='m'>{_fmt_metrics(nb.get('metrics', {}), 40)}{err}</td></tr>")
    git = record.get("git", {})
    body = (f"<p>profile <b>{html.escape(record['profile'])}</b>, status "
            f"<span class='{record['status']}'>{record['status']}</span>, started {record.get('started_at')}, "
            f"commit <code>{git.get('commit')}</code>{' (dirty)' if git.get('dirty') else ''}, "
            f"overrides <code>{html.escape(' '.join(record.get('overrides', [])))}</code></p>"
            "<table><tr><th>notebook</th><th>status</th><th>seconds</th><th>metrics</th></tr>"
            + "".join(rows) + "</table><p><a href='run.json'>run.json</a> · <a href='../../index.html'>all runs</a></p>")
    return write_text(run_dir / "index.html", _page(f"Run {record['run_id']}", body))


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
    rows = []
    for r in records:
        metrics: dict[str, Any] = {}
        for nb in r.get("notebooks", []):
            metrics.update(nb.get("metrics", {}))
        done = sum(nb["status"] == "ok" for nb in r.get("notebooks", []))
        rows.append(
            f"<tr><td><a href='runs/{html.escape(r['run_id'])}/index.html'>{html.escape(r['run_id'])}</a></td>"
            f"<td>{html.escape(r['profile'])}</td><td class='{r['status']}'>{r['status']}</td>"
            f"<td>{done}/{len(r.get('notebooks', []))}</td><td>{_duration(r)}</td>"
            f"<td class='m'>{_fmt_metrics(metrics)}</td></tr>")
    body = ("<table><tr><th>run</th><th>profile</th><th>status</th><th>notebooks ok</th>"
            "<th>seconds</th><th>key metrics</th></tr>" + "".join(rows) + "</table>")
    return write_text(runs_dir.parent / "index.html", _page("Minutes runs", body))
