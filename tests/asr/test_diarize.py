"""Diarization of real (espeak-ng) audio: three speakers found and timed, bad input answered."""
from pathlib import Path

import numpy as np
import pytest

from minutes.asr.audio import write_wav16k
from minutes.asr.diarization_metrics import cpwer, der
from minutes.asr.diarize import ModelUnavailable, diarize, diarize_file, label_segments
from minutes.asr.render import to_srt, to_vtt
from minutes.asr.segments import Segment
from minutes.config.asr import DiarizationParams
from minutes.data.synth import SAME_VOICE, render_meeting
from minutes.serve.transcripts import parse_vtt

SCRIPT = [("Ann", "Good morning everyone, let us talk about the budget for the new remote control."),
          ("Bob", "I think the price should stay under twenty five euros, or nobody will buy it."),
          ("Cat", "Marketing found that young people want a trendy look and soft rubber buttons."),
          ("Ann", "Okay, then we need a cheaper battery and fewer buttons on the device."),
          ("Bob", "Fine with me, as long as the battery lasts a year."),
          ("Cat", "Let us meet again next week to look at the prototype and the costs.")]
#: Measured 0.03 with the default params (0.25 s collar); the margin absorbs VAD edge jitter.
MAX_DER = 0.12


@pytest.fixture(scope="module")
def meeting(tmp_path_factory) -> tuple[Path, list]:
    wav = tmp_path_factory.mktemp("diarize") / "three.wav"
    return wav, render_meeting(SCRIPT, wav, words_per_minute=170, pause_seconds=0.4)


def _reference(rendered: list) -> list[tuple[float, float, str]]:
    return [(t.start, t.end, t.speaker) for t in rendered]


def test_three_speakers_found_and_timed(meeting):
    wav, rendered = meeting
    stats: dict = {}
    turns = diarize_file(wav, DiarizationParams(), stats=stats)
    assert stats["speakers"] == 3
    assert [t["speaker"] for t in turns][:3] == ["Speaker 1", "Speaker 2", "Speaker 3"]
    score = der(_reference(rendered), turns)
    assert score["der"] < MAX_DER, score
    segs = [Segment(start=t.start, end=t.end, text=t.text) for t in rendered]  # perfect ASR, diarized speakers
    assert cpwer([(t.speaker, t.text) for t in rendered], label_segments(segs, turns))["cpwer"] == 0


def test_given_number_of_speakers_is_used(meeting):
    wav, _ = meeting
    turns = diarize_file(wav, DiarizationParams(), num_speakers=2)
    assert {t["speaker"] for t in turns} == {"Speaker 1", "Speaker 2"}
    with pytest.raises(ValueError, match="num_speakers"):
        diarize_file(wav, DiarizationParams(), num_speakers=0)


def test_one_voice_is_one_speaker(tmp_path):
    wav = tmp_path / "one.wav"
    render_meeting([("A", SCRIPT[0][1]), ("A", SCRIPT[3][1])], wav)
    assert {t["speaker"] for t in diarize_file(wav, DiarizationParams())} == {"Speaker 1"}


def test_silence_and_tiny_input_give_no_turns(tmp_path):
    assert diarize(np.zeros(16000 * 3, dtype=np.float32), DiarizationParams()) == []
    assert diarize(np.zeros(100, dtype=np.float32), DiarizationParams()) == []
    wav = write_wav16k(tmp_path / "silence.wav", np.zeros(16000 * 2))
    assert diarize_file(wav, DiarizationParams()) == []


def test_corrupt_file_is_an_audio_error(tmp_path):
    from minutes.asr.audio import AudioError

    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 10)
    with pytest.raises(AudioError, match="not readable audio"):
        diarize_file(bad, DiarizationParams())


def test_pyannote_offline_is_model_unavailable(meeting):
    with pytest.raises(ModelUnavailable, match="resemblyzer"):
        diarize_file(meeting[0], DiarizationParams(backend="pyannote"))


def test_der_parts_on_hand_made_turns():
    ref = [(0.0, 10.0, "a"), (10.0, 20.0, "b")]
    swapped = [{"start": 0.0, "end": 10.0, "speaker": "Speaker 2"}, {"start": 10.0, "end": 20.0, "speaker": "Speaker 1"}]
    assert der(ref, swapped)["der"] == 0  # labels are mapped, not compared by name
    half = der(ref, [{"start": 0.0, "end": 10.0, "speaker": "x"}])
    assert half["missed"] == pytest.approx(0.5, abs=0.02) and half["false_alarm"] == 0
    merged = der(ref, [{"start": 0.0, "end": 20.0, "speaker": "x"}])
    assert merged["confusion"] == pytest.approx(0.5, abs=0.02)


def test_exports_carry_speakers_and_parse_back():
    segs = [Segment(start=0.0, end=1.5, text="Hello there.", speaker="Speaker 1"),
            Segment(start=1.8, end=3.0, text="Hi.", speaker="Speaker 2")]
    vtt = to_vtt(segs)
    assert "<v Speaker 1>Hello there." in vtt
    back = parse_vtt(vtt, "x.vtt")
    assert [(r["speaker"], r["text"], r["start"], r["end"]) for r in back] == [
        ("Speaker 1", "Hello there.", 0.0, 1.5), ("Speaker 2", "Hi.", 1.8, 3.0)]
    srt = to_srt(segs).split("\n")
    assert srt[:3] == ["1", "00:00:00,000 --> 00:00:01,500", "Speaker 1: Hello there."]


def test_harder_synthesis_overlaps_and_shares_a_voice(tmp_path):
    script = [("A", "one two three four five six"), ("B", "seven eight nine ten eleven"), ("A", "twelve thirteen")]
    turns = render_meeting(script, tmp_path / "o.wav", overlap_seconds=0.5, overlap_every=1, voices=SAME_VOICE)
    assert turns[1].start < turns[0].end and turns[2].start < turns[1].end
    assert turns[0].voice == turns[1].voice and turns[0].pitch != turns[1].pitch
