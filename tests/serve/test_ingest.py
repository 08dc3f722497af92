"""Ingest into the live index without a restart: transcripts and audio, then ask about them;
concurrent ingests lose nothing (real uvicorn on loopback; see conftest.serve_env)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from minutes.serve.prometheus_text import metric_value

pytestmark = pytest.mark.slow


def ingest(url: str, token: str, meeting_id: str, name: str, data: bytes) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=300) as c:
        return c.post("/ingest", headers={"Authorization": f"Bearer {token}"}, data={"meeting_id": meeting_id},
                      files={"file": (name, data)})


def test_ingest_transcript_then_ask_finds_it(http: httpx.Client, url: str, serve_env: dict[str, Any]) -> None:
    before = http.get("/readyz").json()["index_chunks"]
    text = ("Alice: The lighthouse budget for the harbour festival is eight thousand dollars.\n"
            "Bob: Then we book the fireworks barge from Halifax for the second of August.\n"
            "Alice: Agreed, and I will email the harbour master about the permit tomorrow.\n")
    r = ingest(url, serve_env["token"], "harbour01", "harbour.txt", text.encode())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["meeting_id"] == "harbour01" and body["utterances"] == 3 and body["chunks"] >= 1
    assert body["index_chunks"] == before + body["chunks"]
    assert http.get("/readyz").json()["index_chunks"] == before + body["chunks"]

    meetings = {m["meeting_id"]: m for m in http.get("/meetings").json()}
    assert meetings["harbour01"]["source"] == "ingested" and meetings["harbour01"]["speakers"] == ["Alice", "Bob"]
    a = http.post("/ask", json={"question": "Where is the fireworks barge booked from?"}).json()
    assert a["sources"][0]["meeting_id"] == "harbour01"
    assert "Halifax" in a["answer"]
    within = http.post("/ask", json={"question": "Who emails the harbour master?", "meeting_id": "harbour01"}).json()
    assert {s["meeting_id"] for s in within["sources"]} == {"harbour01"}
    doc = http.post("/minutes", json={"meeting_id": "harbour01"}).json()
    assert any("harbour master" in a["text"] for a in doc["action_items"])
    assert (metric_value(http.get("/metrics").text, "minutes_ingests_total") or 0) >= 1
    # kept on disk, so a restarted service still knows it
    stored = serve_env["params"].stage_dir("serve") / "ingested" / "harbour01.jsonl"
    assert stored.is_file() and len(stored.read_text().splitlines()) == 3


def test_ingest_vtt_and_json_keep_their_times(http: httpx.Client, url: str, serve_env: dict[str, Any]) -> None:
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:04.500\n<v Dana>The glacier survey starts in March.\n\n"
           "00:00:05.000 --> 00:00:09.000\nEvan: We need two snowmobiles for the survey team.\n")
    r = ingest(url, serve_env["token"], "glacier01", "survey.vtt", vtt.encode())
    assert r.status_code == 201, r.text
    rows = [{"speaker": "Fay", "text": "The orchard will plant forty pear trees this spring.", "start": 3, "end": 8}]
    r = ingest(url, serve_env["token"], "orchard01", "orchard.json", json.dumps({"utterances": rows}).encode())
    assert r.status_code == 201, r.text
    a = http.post("/ask", json={"question": "What does the survey team need?", "meeting_id": "glacier01"}).json()
    src = a["sources"][0]
    assert src["speaker"] == "Evan" and src["start"] == 5.0 and src["end"] == 9.0
    a = http.post("/ask", json={"question": "How many pear trees?", "meeting_id": "orchard01"}).json()
    assert a["sources"][0]["start"] == 3.0 and "forty" in a["answer"]


def test_ingest_audio_is_transcribed(http: httpx.Client, url: str, serve_env: dict[str, Any], wav: Path) -> None:
    r = ingest(url, serve_env["token"], "standup01", wav.name, wav.read_bytes())
    assert r.status_code == 201, r.text
    assert r.json()["utterances"] >= 1
    a = http.post("/ask", json={"question": "What will they ship next week?", "meeting_id": "standup01"}).json()
    assert "remote" in a["answer"].lower()


def test_concurrent_ingests_lose_nothing(http: httpx.Client, url: str, serve_env: dict[str, Any]) -> None:
    before = http.get("/readyz").json()["index_chunks"]
    topics = ["tulips", "kayaks", "violins", "granite", "saffron", "comets"]
    jobs = [(f"conc{i:02d}", f"m{i}.txt",
             f"Gus: Meeting {i} is only about {t}.\nHal: Yes, we order more {t} for the shop.\n".encode())
            for i, t in enumerate(topics)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda j: ingest(url, serve_env["token"], *j), jobs))
    assert [r.status_code for r in results] == [201] * len(jobs), [r.text for r in results]
    added = sum(r.json()["chunks"] for r in results)
    assert http.get("/readyz").json()["index_chunks"] == before + added
    ids = {m["meeting_id"] for m in http.get("/meetings").json()}
    assert {j[0] for j in jobs} <= ids
    for (mid, _, _), topic in zip(jobs, topics):
        a = http.post("/ask", json={"question": f"What do they order for the shop about {topic}?",
                                    "meeting_id": mid}).json()
        assert topic in a["answer"], (mid, a)


def test_same_meeting_id_twice_at_once_keeps_one(url: str, serve_env: dict[str, Any], http: httpx.Client) -> None:
    data = b"Ida: The one and only copy of this meeting.\n"
    with ThreadPoolExecutor(3) as pool:
        codes = sorted(r.status_code for r in pool.map(
            lambda _: ingest(url, serve_env["token"], "dup01", "dup.txt", data), range(3)))
    assert codes == [201, 409, 409]
    assert [m["meeting_id"] for m in http.get("/meetings").json()].count("dup01") == 1
