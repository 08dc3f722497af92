"""/transcribe?speakers=true: diarized, speaker-labelled transcripts in every export format."""
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from minutes.data.synth import render_meeting

    wav = tmp_path_factory.mktemp("speakers") / "two.wav"
    render_meeting([("A", "Good morning. We decided to ship the yellow remote control next week."),
                    ("B", "That works for me, but the battery must be cheaper than two euros."),
                    ("A", "Then let us ask the supplier for a new price before Friday.")], wav)
    return wav


def test_speakers_in_json_vtt_and_srt(http: Any, two_voices: Path) -> None:
    with two_voices.open("rb") as fh:
        r = http.post("/transcribe", params={"speakers": "true"}, files={"file": (two_voices.name, fh, "audio/wav")})
    assert r.status_code == 200, r.text
    speakers = [s["speaker"] for s in r.json()["segments"]]
    assert speakers[0] == "Speaker 1" and "Speaker 2" in speakers
    with two_voices.open("rb") as fh:
        vtt = http.post("/transcribe", params={"speakers": "true", "format": "vtt"}, files={"file": (two_voices.name, fh)})
    assert "<v Speaker 1>" in vtt.text and "<v Speaker 2>" in vtt.text
    with two_voices.open("rb") as fh:
        srt = http.post("/transcribe", params={"num_speakers": 2, "format": "srt"}, files={"file": (two_voices.name, fh)})
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert "Speaker 1: " in srt.text and "Speaker 2: " in srt.text and " --> " in srt.text


def test_bad_num_speakers_is_422(http: Any, two_voices: Path) -> None:
    with two_voices.open("rb") as fh:
        r = http.post("/transcribe", params={"num_speakers": 0}, files={"file": (two_voices.name, fh)})
    assert r.status_code == 422 and "num_speakers" in r.json()["detail"]


def _ingest(http: Any, token: str, meeting_id: str, wav: Path, **fields: str) -> Any:
    with wav.open("rb") as fh:
        return http.post("/ingest", headers={"Authorization": f"Bearer {token}"},
                         data={"meeting_id": meeting_id, **fields}, files={"file": (wav.name, fh, "audio/wav")})


def test_ingested_audio_is_diarized_and_renamed_speakers_reach_citations(
        http: Any, serve_env: dict[str, Any], two_voices: Path) -> None:
    token = serve_env["token"]
    r = _ingest(http, token, "voices01", two_voices)
    assert r.status_code == 201, r.text
    meetings = {m["meeting_id"]: m for m in http.get("/meetings").json()}
    assert meetings["voices01"]["speakers"] == ["Speaker 1", "Speaker 2"]
    ask = {"question": "How cheap must the battery be?", "meeting_id": "voices01"}
    assert http.post("/ask", json=ask).json()["sources"][0]["speaker"] == "Speaker 2"
    doc = http.post("/minutes", json={"meeting_id": "voices01"}).json()
    cited = {c["speaker"] for part in ("summary", "decisions", "action_items") for i in doc[part] for c in i["cites"]}
    assert cited and cited <= {"Speaker 1", "Speaker 2"}

    path = "/meetings/voices01/speakers"
    assert http.patch(path, json={"names": {"Speaker 2": "Bea"}}).status_code == 401  # before the body
    assert http.patch(path, json={"nope": 1}).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    bad = http.patch(path, headers=auth, json={"names": {"Speaker 7": "Bea"}})
    assert bad.status_code == 422 and "Speaker 1" in bad.json()["detail"]
    assert http.patch("/meetings/nope01/speakers", headers=auth, json={"names": {"A": "B"}}).status_code == 404
    r = http.patch(path, headers=auth, json={"names": {"Speaker 1": "Ada", "Speaker 2": "Bea"}})
    assert r.status_code == 200, r.text
    assert r.json()["speakers"] == ["Ada", "Bea"] and r.json()["renamed"] == {"Speaker 1": "Ada", "Speaker 2": "Bea"}
    assert http.post("/ask", json=ask).json()["sources"][0]["speaker"] == "Bea"
    doc = http.post("/minutes", json={"meeting_id": "voices01"}).json()
    assert "Speaker 1" not in str(doc) and "Speaker 2" not in str(doc)
    assert {c["speaker"] for part in ("summary", "decisions", "action_items") for i in doc[part]
            for c in i["cites"]} <= {"Ada", "Bea"}


def test_ingest_takes_names_in_order_or_no_diarization(http: Any, serve_env: dict[str, Any], two_voices: Path) -> None:
    token = serve_env["token"]
    r = _ingest(http, token, "voices02", two_voices, speaker_names="Ada, Bea", num_speakers="2")
    assert r.status_code == 201, r.text
    r = _ingest(http, token, "voices03", two_voices, speakers="false")
    assert r.status_code == 201, r.text
    meetings = {m["meeting_id"]: m for m in http.get("/meetings").json()}
    assert meetings["voices02"]["speakers"] == ["Ada", "Bea"] and meetings["voices03"]["speakers"] == ["Speaker"]
    for fields, message in [({"speakers": "maybe"}, "speakers must be"), ({"num_speakers": "0"}, "num_speakers"),
                            ({"speaker_names": "A: B"}, "without ':'")]:
        r = _ingest(http, token, "voices04", two_voices, **fields)
        assert r.status_code == 422 and message in r.json()["detail"], r.text
    assert "voices04" not in {m["meeting_id"] for m in http.get("/meetings").json()}
