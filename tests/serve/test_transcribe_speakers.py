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
