"""Fast unit tests of the service's pure parts: transcripts, upload names and limits, minutes,
load-test arithmetic, deploy templates, demo HTML."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from minutes.config import load_params
from minutes.serve import deploy, loadtest
from minutes.serve.demo import answer_html
from minutes.serve.errors import ApiError
from minutes.serve.minutes_doc import build_minutes
from minutes.serve.smoke import SmokeFailed, check
from minutes.serve.transcripts import parse_transcript
from minutes.serve.uploads import UploadError, safe_filename, save_stream
from tests.serve.conftest import MEETINGS, utterances


def test_txt_transcript_estimates_times() -> None:
    rows = parse_transcript(b"Alice: one two three four five\n\nBob: six {vocalsound} seven\n", "m.txt")
    # ETL's estimate: 150 words a minute, 0.3 s between turns, markup not counted
    assert rows == [{"speaker": "Alice", "text": "one two three four five", "start": 0.0, "end": 2.0,
                     "timing": "estimated"},
                    {"speaker": "Bob", "text": "six {vocalsound} seven", "start": 2.3, "end": 3.1,
                     "timing": "estimated"}]


def test_vtt_transcript_keeps_times_and_voices() -> None:
    vtt = "WEBVTT\n\n1\n00:01:02.500 --> 00:01:04.000\n<v Carol>Hello there</v>\n\n00:05.000 --> 00:06.000\nDan: Hi\n"
    rows = parse_transcript(vtt.encode(), "m.vtt")
    assert rows == [{"speaker": "Carol", "text": "Hello there", "start": 62.5, "end": 64.0, "timing": "real"},
                    {"speaker": "Dan", "text": "Hi", "start": 5.0, "end": 6.0, "timing": "real"}]


def test_json_transcript_untimed_rows_get_estimates() -> None:
    rows = parse_transcript(b'[{"speaker": "A", "text": "x y z"}, {"text": "w", "start": 1, "end": 2}]', "m.json")
    assert rows[1]["speaker"] == "Speaker" and rows[1]["start"] >= rows[0]["end"]
    assert {r["timing"] for r in rows} == {"estimated"}  # one untimed row: all are estimated
    timed = parse_transcript(b'[{"speaker": "A", "text": "x", "start": 1, "end": 2}]', "m.json")
    assert timed[0]["timing"] == "real"


@pytest.mark.parametrize("data, name, status, words", [
    (b"no colon here", "a.txt", 422, "line 1"),
    (b"\xff\xfe", "a.txt", 422, "UTF-8"),
    (b"00:01.000 --> 00:02.000\nx", "a.vtt", 422, "WEBVTT"),
    (b"{", "a.json", 422, "not valid JSON"),
    (b"[1, 2]", "a.json", 422, "utterance 0"),
    (b"WEBVTT\n\n", "a.vtt", 422, "no utterances"),
])
def test_bad_transcripts(data: bytes, name: str, status: int, words: str) -> None:
    with pytest.raises(UploadError) as err:
        parse_transcript(data, name)
    assert err.value.status == status and words in err.value.message


@pytest.mark.parametrize("name", ["../x.wav", "a/b.wav", "a\\b.wav", "C:x.wav", "x\x00.wav", "..", "", None,
                                  ".hidden.wav", "x" * 300 + ".wav", "bad|pipe.wav"])
def test_unsafe_file_names_are_refused(name: str | None) -> None:
    with pytest.raises(UploadError) as err:
        safe_filename(name)
    assert err.value.status == 400


@pytest.mark.parametrize("name", ["meeting.wav", "Team call (2).mp3", "a_b-c.d.vtt"])
def test_plain_file_names_pass(name: str) -> None:
    assert safe_filename(name) == name


def test_save_stream_stops_at_the_limit(tmp_path: Path) -> None:
    dest = tmp_path / "a.wav"
    assert save_stream(io.BytesIO(b"x" * 100), dest, 100) == 100
    with pytest.raises(UploadError) as err:
        save_stream(io.BytesIO(b"x" * ((1 << 20) + 1)), tmp_path / "b.wav", 1 << 20)
    assert err.value.status == 413
    with pytest.raises(UploadError) as err:
        save_stream(io.BytesIO(b""), tmp_path / "c.wav", 100)
    assert err.value.status == 400


def test_minutes_cite_their_turns() -> None:
    utts = [u for u in utterances() if u["meeting_id"] == "design01"]
    doc = build_minutes("design01", utts, 6)
    decisions = [d["text"] for d in doc["decisions"]]
    assert any("rubber case in yellow" in d for d in decisions)
    actions = {a["text"]: a for a in doc["action_items"]}
    drawing = next(a for t, a in actions.items() if "drawings" in t)
    assert drawing["owner"] == "Project Manager" and drawing["cites"][0]["idx"] == 7
    assert len(doc["summary"]) <= 6 and all(i["cites"] for i in doc["summary"])
    assert "[Project Manager, 0:00:" in doc["markdown"] and "## Summary" in doc["markdown"]
    with pytest.raises(ValueError):
        build_minutes("empty", [], 3)
    assert MEETINGS["design01"][0] == "Product"


def test_load_report_summary_and_targets() -> None:
    rep = loadtest.LoadReport("ask extractive", 4, seconds=2.0,
                              records=[{"i": i, "t_s": i / 100, "status": 200 if i < 99 else 500, "mode": "extractive",
                                        "latency_ms": float(i + 1)} for i in range(100)])
    s = rep.summary()
    assert s["requests"] == 100 and s["errors"] == 1 and s["throughput_rps"] == 50.0
    assert s["p50_ms"] == pytest.approx(50.5) and s["p95_ms"] == pytest.approx(95.05) and s["max_ms"] == 100.0
    params = load_params("ci")
    t = {row["target"]: row["met"] for row in loadtest.targets(params, s)}
    assert t == {"p95 latency (ms)": False, "throughput (req/s)": True, "errors": False}
    figs = loadtest.figures([rep])
    assert figs["ask_extractive_p95_ms"] == s["p95_ms"] and figs["ask_extractive_errors"] == 1


def test_run_load_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="at least one payload"):
        loadtest.run_load("http://127.0.0.1:9", [], 1, 1)
    with pytest.raises(ValueError, match=">= 1"):
        loadtest.run_load("http://127.0.0.1:9", [{"question": "q"}], 0, 1)


def test_run_load_counts_connection_errors() -> None:
    rep = loadtest.run_load("http://127.0.0.1:9", [{"question": "q"}], 3, 2, timeout_s=2, progress=False)
    assert rep.summary()["errors"] == 3 and all(r["status"] == 0 for r in rep.records)


def test_compose_file_has_one_container_per_alias_and_no_secret() -> None:
    params = load_params("chameleon")
    text = deploy.render_template("docker-compose.yml.j2", params)
    import yaml

    compose = yaml.safe_load(text)
    assert set(compose["services"]) == {f"api-{a}" for a in params.serve.deployments} | {"router"}
    for alias, port in params.serve.deployments.items():
        svc = compose["services"][f"api-{alias}"]
        assert svc["ports"] == [f"{port}:8800"] and f"serve.model_alias={alias}" in svc["command"]
        assert svc["environment"]["MINUTES_INGEST_TOKEN"] == "${MINUTES_INGEST_TOKEN:-}"
        # the answer log in the platform's Postgres: the URL from `docker compose up`'s environment
        assert svc["environment"][params.serve.answer_log.url_env] == "${MINUTES_ANSWER_LOG_URL:-}"
    assert params.serve.answer_log.backend == "postgres"
    assert compose["networks"]["platform"]["external"] is True
    from minutes.platform.prometheus_server import ROUTER_CONTAINER_PORT, SERVICE_CONTAINER_PORT, platform_targets

    # the platform's Prometheus scrapes these containers by their service names
    assert {t.split(":")[0] for t in platform_targets(params).values()} == set(compose["services"])
    assert all(compose["services"][f"api-{a}"]["ports"][0].endswith(f":{SERVICE_CONTAINER_PORT}")
               for a in params.serve.deployments)
    assert compose["services"]["router"]["ports"] == [f"127.0.0.1:{ROUTER_CONTAINER_PORT}:{ROUTER_CONTAINER_PORT}"]
    sqlite = yaml.safe_load(deploy.render_template("docker-compose.yml.j2", load_params("ci")))
    assert not [s for s in sqlite["services"].values() if "MINUTES_ANSWER_LOG_URL" in s["environment"]]
    assert "minutes.serve" in deploy.render_template("Dockerfile.j2", params)


def test_deploy_extravars_carry_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    params = load_params("ci")
    monkeypatch.setenv(params.serve.ingest_token_env, "s3cret-token-value-123")
    ev = deploy.extravars(params, ["serve.port=8899"], "local")
    assert "s3cret-token-value-123" not in repr(ev)
    assert ev["serve_port"] == params.serve.port and ev["minutes_overrides"] == ["serve.port=8899"]
    assert deploy.ensure_ingest_token(params) is False


def test_smoke_check_names_the_failures() -> None:
    check([{"check": "GET /healthz", "expect": 200, "status": 200, "ok": True, "detail": "ok"}])
    with pytest.raises(SmokeFailed, match="POST /ask: expected 200, got 500"):
        check([{"check": "POST /ask", "expect": 200, "status": 500, "ok": False, "detail": "boom"}])


def test_answer_html_escapes_transcript_text() -> None:
    html = answer_html({"answer": "<script>x</script>", "mode": "extractive", "model_version": None,
                        "latency_ms": 3.0, "sources": [{"meeting_id": "m<1>", "speaker": "A&B", "start": 61.0,
                                                        "end": 3725.0, "text": "<b>hi</b>", "score": 0.5}]})
    assert "<script>" not in html and "&lt;script&gt;" in html and "A&amp;B" in html
    assert "0:01:01–1:02:05" in html


def test_api_error_carries_status() -> None:
    err = ApiError(418, "teapot")
    assert err.status == 418 and str(err) == "teapot"
