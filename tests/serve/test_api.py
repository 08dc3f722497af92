"""Each endpoint against a real uvicorn on loopback (see conftest.serve_env)."""
from __future__ import annotations

from typing import Any

import pytest

from minutes.serve.prometheus_text import metric_value

pytestmark = pytest.mark.slow


def test_health_and_readiness(http: Any) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["index_chunks"] > 0 and body["meetings"] >= 3
    assert body["alias"] == "staging"


def test_meetings_lists_the_corpus(http: Any) -> None:
    rows = {m["meeting_id"]: m for m in http.get("/meetings").json()}
    assert {"design01", "budget02", "speech03"} <= set(rows)
    design = rows["design01"]
    assert design["domain"] == "Product" and design["n_utterances"] == 10
    assert "Project Manager" in design["speakers"] and design["duration_s"] > 0


def test_ask_answers_with_cited_sources(http: Any) -> None:
    r = http.post("/ask", json={"question": "What colour will the remote control be?", "k": 3})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["mode"] == "extractive" and a["model_version"] is None
    assert "yellow" in a["answer"].lower()
    assert 1 <= len(a["sources"]) <= 3
    src = a["sources"][0]
    assert set(src) >= {"meeting_id", "speaker", "start", "end", "text", "score"}
    assert src["meeting_id"] == "design01" and src["end"] >= src["start"]
    assert a["latency_ms"] > 0


def test_ask_within_one_meeting_cites_only_it(http: Any) -> None:
    a = http.post("/ask", json={"question": "What did the committee agree?", "meeting_id": "budget02"}).json()
    assert a["sources"] and {s["meeting_id"] for s in a["sources"]} == {"budget02"}
    assert "five percent" in a["answer"]


def test_minutes_json_and_markdown(http: Any) -> None:
    doc = http.post("/minutes", json={"meeting_id": "design01"}).json()
    assert doc["meeting_id"] == "design01" and doc["summary"]
    assert any("rubber case" in d["text"] for d in doc["decisions"])
    assert any("drawings" in a["text"] for a in doc["action_items"])
    for section in ("summary", "decisions", "action_items"):
        for item in doc[section]:
            assert item["cites"] and item["cites"][0]["speaker"]
    md = http.post("/minutes", json={"meeting_id": "design01", "format": "markdown"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Minutes: design01") and "## Decisions" in md.text and "## Action items" in md.text


def test_transcribe_returns_timed_segments(http: Any, wav: Any) -> None:
    with wav.open("rb") as fh:
        r = http.post("/transcribe", files={"file": (wav.name, fh, "audio/wav")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["segments"] and body["segments"][0]["end"] > body["segments"][0]["start"]
    assert "remote" in body["txt"].lower()
    assert body["vtt"].startswith("WEBVTT") and "-->" in body["vtt"]
    with wav.open("rb") as fh:
        vtt = http.post("/transcribe", params={"format": "vtt"}, files={"file": (wav.name, fh)})
    assert vtt.headers["content-type"].startswith("text/vtt") and "-->" in vtt.text


def test_metrics_are_prometheus_text(http: Any) -> None:
    http.post("/ask", json={"question": "Who wants bright colours?"})
    http.post("/ask", json={"question": "   "})
    text = http.get("/metrics").text
    assert (metric_value(text, "minutes_requests_total", method="POST", route="/ask", status="200") or 0) >= 1
    assert (metric_value(text, "minutes_errors_total", route="/ask", status="422") or 0) >= 1
    assert (metric_value(text, "minutes_request_latency_seconds_count", route="/ask") or 0) >= 2
    assert (metric_value(text, "minutes_index_chunks") or 0) > 0
    assert metric_value(text, "minutes_model_version", alias="staging") is not None


def test_openapi_documents_every_route(http: Any) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/ask", "/minutes", "/transcribe", "/ingest", "/meetings", "/healthz", "/readyz", "/metrics"} <= set(paths)
    page = http.get("/")
    assert page.status_code == 200 and "<form id=\"ask-form\">" in page.text


def test_demo_widgets_answer_through_their_callbacks(url: str) -> None:
    from minutes.serve.client import Client
    from minutes.serve.demo import build_ui

    ui = build_ui(Client(url))
    assert "design01" in [v for _, v in ui.widgets["picker"].options]
    answer = ui.submit("What colour will the remote control be?", "design01")
    assert answer is not None and answer["sources"]
    assert "yellow" in ui.output.lower() and "design01" in ui.output
    assert ui.submit("   ") is None and "empty" in ui.output
    assert "# Minutes: design01" in ui.press_minutes("design01")


def test_smoke_test_passes_against_the_service(url: str) -> None:
    from minutes.serve.client import Client
    from minutes.serve.smoke import check, smoke_test

    rows = smoke_test(Client(url), "What case did they choose?", "design01")
    check(rows)
    assert len(rows) >= 10


def test_load_test_against_the_service(url: str, serve_env: dict[str, Any]) -> None:
    from minutes.serve.payloads import load_payloads
    from minutes.serve.loadtest import run_load

    payloads = load_payloads(serve_env["params"], n=10)
    assert {"question": "What case did they choose?", "meeting_id": "design01"} in payloads
    assert {p["meeting_id"] for p in payloads} == {"design01", "budget02"}
    rep = run_load(url, payloads, 30, 3, warmup=2, progress=False)
    s = rep.summary()
    assert s["requests"] == 30 and s["errors"] == 0 and s["mode"] == "extractive" and s["throughput_rps"] > 0
    # 2 distinct questions, 2 warm-up requests from the end of the list: all 30 repeat one
    assert s["repeated_questions"] == 30 and len(payloads) == 2
    fresh = run_load(url, payloads + [{"question": f"Who spoke about item {i}?", "meeting_id": "design01"}
                                      for i in range(8)], 6, 2, warmup=2, progress=False).summary()
    assert fresh["repeated_questions"] == 0 and fresh["errors"] == 0
