"""The runs index leads with each stage's headline figures, marks cached stages, shows trends."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from minutes.reports.index import write_index
from minutes.runs import save_run

#: What notebooks 00..50 record (keys as in the notebooks' ctx.record calls), with real-looking values.
METRICS: dict[str, dict[str, Any]] = {
    "00_provision_kvm": {"infra_mode": "plan", "infra_tool": "python-chi", "kvm_security_rules": 4,
                         "terraform_fmt_ok": True, "kvm_floating_ip": ""},
    "10_etl": {"n_meetings": 12, "n_utterances": 5321, "validation_ok": True, "asr_backend": "faster-whisper",
               "asr_wer": 0.1234, "asr_rtf": 0.21},
    "20_index": {"dense_within_recall@10": 0.4567, "dense_corpus_recall@10": 0.2345,
                 "bm25_within_recall@10": 0.3981, "index_version": "a1b2c3", "n_queries": 40},
    "30_train": {"trials": 2, "best_val_rougeL": 21.37, "best_val_loss": 2.9132, "registered_version": "3",
                 "cached": True},
    "40_evaluate": {"split": "val", "queries": 30, "extractive.rougeLsum": 19.05, "lora-v3.rougeLsum": 18.42,
                    "lora-v2.rougeLsum": 17.11, "gate_passed": False, "gate_candidate": "3",
                    "gate_reason": "failed beats_extractive: rougeLsum 18.42 vs extractive 19.05",
                    "gate_metric": "rougeLsum"},
    "50_deploy": {"ask_extractive_p50_ms": 120.4, "ask_extractive_p95_ms": 412.6, "ask_extractive_errors": 0,
                  "serve_mode": "extractive", "smoke_checks": 9},
}


def _run(runs: Path, run_id: str, profile: str, metrics: dict[str, dict[str, Any]],
         started: str = "2025-01-01T10:00:00+0000") -> Path:
    """A run.json as the runner writes it (minutes.pipeline.runner), every notebook finished."""
    record = {
        "run_id": run_id, "profile": profile, "overrides": [], "params": {}, "python": "3.11.2",
        "git": {"commit": "0" * 40, "dirty": False}, "packages": {}, "started_at": started,
        "finished_at": started, "status": "ok",
        "notebooks": [{"name": name, "status": "ok", "duration_s": 1.5, "report": f"{name}.html",
                       "metrics": m} for name, m in metrics.items()],
    }
    run_dir = runs / run_id
    save_run(run_dir, record)
    return run_dir


def _row_cells(index: str, run_id: str) -> list[str]:
    """The headline cells of the runs-table row of `run_id`."""
    row = re.search(rf"<tr><td><a href='runs/{re.escape(run_id)}/index.html'>.*?</tr>", index, re.S)
    assert row, f"no row for {run_id}"
    return re.findall(r"<td class='h'>(.*?)</td>", row.group(0), re.S)


def _trend_section(index: str, profile: str) -> str:
    trends = index.split("<h2>Trends</h2>", 1)[1]
    match = re.search(rf"<h3>profile {re.escape(profile)} .*?(?=<h3>|$)", trends, re.S)
    assert match, f"no trend section for {profile}"
    return match.group(0)


def _figure_row(section: str, label: str) -> str:
    match = re.search(rf"<tr><td>{re.escape(label)}</td>.*?</tr>(?=<tr><td>[^<]|</table>(?!</details>))", section, re.S)
    assert match, f"no trend row {label}"
    return match.group(0)


def test_index_leads_with_headline_figures(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _run(runs, "20250101-100000-local-aaaa", "local", METRICS)
    index = write_index(runs).read_text()

    header = re.search(r"<tr><th>run</th>.*?</tr>", index).group(0)
    assert re.findall(r"<th>(\d\d_\w+)</th>", header) == ["10_etl", "20_index", "30_train", "40_evaluate",
                                                          "50_deploy"]
    etl, index_, train, evaluate, deploy = _row_cells(index, "20250101-100000-local-aaaa")
    assert "ASR WER <b>12.3%</b>" in etl
    assert "recall@10 within meeting <b>0.457</b>" in index_
    assert "recall@10 across corpus <b>0.234</b>" in index_
    assert "best val ROUGE-L <b>21.37</b>" in train
    assert "gate <b title='failed beats_extractive: rougeLsum 18.42 vs extractive 19.05'>failed</b>" in evaluate
    assert "candidate rougeLsum <b>18.42</b>" in evaluate  # lora-v3, the gate's candidate, not v2
    assert "extractive rougeLsum <b>19.05</b>" in evaluate
    assert "/ask p95 extractive <b>413 ms</b>" in deploy
    assert "/ask p95 generative <b>—</b>" in deploy  # not measured in extractive mode
    # The provisioning chatter is folded away, not leading.
    assert "infra_mode=plan" in index.split("<h2>Trends</h2>")[0]
    assert "infra_mode" not in "".join(_row_cells(index, "20250101-100000-local-aaaa"))
    run_page = (runs / "20250101-100000-local-aaaa" / "index.html").read_text()
    assert "ASR WER <b>12.3%</b>" in run_page


def test_cached_stage_is_marked(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _run(runs, "20250101-100000-ci-aaaa", "ci", METRICS)
    index = write_index(runs).read_text()
    cells = _row_cells(index, "20250101-100000-ci-aaaa")
    marked = [">cached</span>" in c for c in cells]
    assert marked == [False, False, True, False, False]  # only 30_train recorded cached=True
    assert ">cached</span>" in _figure_row(_trend_section(index, "ci"), "best val ROUGE-L")


def test_trend_across_runs_of_one_profile(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    older = {**METRICS, "20_index": {**METRICS["20_index"], "dense_within_recall@10": 0.4000}}
    newer = {**METRICS, "20_index": {**METRICS["20_index"], "dense_within_recall@10": 0.4500}}
    other = {**METRICS, "20_index": {**METRICS["20_index"], "dense_within_recall@10": 0.9100}}
    _run(runs, "20250102-090000-ci-bbbb", "ci", newer, "2025-01-02T09:00:00+0000")
    _run(runs, "20250101-090000-ci-aaaa", "ci", older, "2025-01-01T09:00:00+0000")
    _run(runs, "20250101-120000-local-cccc", "local", other, "2025-01-01T12:00:00+0000")
    index = write_index(runs).read_text()

    ci = _figure_row(_trend_section(index, "ci"), "recall@10 within meeting")
    assert "<td>0.450</td>" in ci  # latest
    assert "<span class='better'>+0.050</span>" in ci
    assert "20250101-090000-ci-aaaa" in ci and "20250102-090000-ci-bbbb" in ci
    assert "<td>0.400</td>" in ci and "local-cccc" not in ci and "0.910" not in ci
    points = re.search(r"<polyline [^>]*points='([^']*)'", ci).group(1).split()
    assert len(points) == 2
    (y_old, y_new) = (float(p.split(",")[1]) for p in points)
    assert y_new < y_old  # SVG y grows downwards: the higher recall is drawn higher
    local = _trend_section(index, "local")
    assert "20250101-120000-local-cccc" in local and "ci-aaaa" not in local


def test_hostile_values_are_escaped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    evil = "<script>alert(1)</script>"
    hostile = {**METRICS, "40_evaluate": {**METRICS["40_evaluate"], "gate_reason": f"' onmouseover='x' {evil}",
                                          "gate_candidate": evil},
               "60_demo": {"demo_question": evil, "<img src=x onerror=alert(2)>": 1}}
    run_dir = _run(runs, "20250101-100000-local-aaaa", "<b>local</b>", hostile)
    index = write_index(runs).read_text()
    page = (run_dir / "index.html").read_text()
    for text in (index, page):
        assert "<script>" not in text and "<img" not in text and "<b>local</b>" not in text
        assert "onmouseover='x'" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;local&lt;/b&gt;" in index


def test_a_stage_that_has_not_run_yet_is_blank(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _run(runs, "20250101-100000-ci-aaaa", "ci", METRICS)
    run_dir = _run(runs, "20250102-100000-ci-bbbb", "ci", {"10_etl": METRICS["10_etl"], "20_index": {}})
    record = json.loads((run_dir / "run.json").read_text())
    record["status"] = "running"
    record["notebooks"][1] = {"name": "20_index", "status": "pending"}  # as the runner writes it
    save_run(run_dir, record)
    index = write_index(runs).read_text()
    etl, pending, *later = _row_cells(index, "20250102-100000-ci-bbbb")
    assert "ASR WER <b>12.3%</b>" in etl and pending == "" and later == ["", "", ""]
    assert "recall@10 within meeting <b>0.457</b>" in _row_cells(index, "20250101-100000-ci-aaaa")[1]
