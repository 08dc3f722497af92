"""Real transcription of a short espeak-ng clip with each backend and the packaged tiny.en weights."""
import pytest

from minutes.asr.audio import AudioError
from minutes.asr.batch import transcribe_many
from minutes.asr.transcribe import transcribe_file
from minutes.asr.wer import wer_counts
from minutes.config import load_params
from minutes.config.asr import AsrParams

from .conftest import SCRIPT

REFERENCE = " ".join(text for _, text in SCRIPT)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("asr-cache")


@pytest.mark.parametrize("backend", ["faster-whisper", "openai-whisper"])
def test_backend_transcribes_speech(speech, cache, backend):
    wav, turns = speech
    stats = {}
    segs = transcribe_file(wav, AsrParams(backend=backend, vad=True), cache_dir=cache, stats=stats)
    hyp = " ".join(s["text"] for s in segs)
    assert wer_counts(REFERENCE, hyp)["wer"] <= 0.3, hyp
    assert all(0 <= s["start"] < s["end"] <= turns[-1].end + 0.6 for s in segs)
    assert stats["backend"] == backend and stats["audio_s"] == pytest.approx(turns[-1].end + 0.5, abs=0.05)
    assert stats["rtf"] > 0


@pytest.mark.parametrize("backend", ["faster-whisper", "openai-whisper"])
def test_word_timestamps(speech, cache, backend):
    """With VAD the backend decodes only the speech; times are mapped back to the recording."""
    wav, turns = speech
    segs = transcribe_file(wav, AsrParams(backend=backend, word_timestamps=True, vad=True), cache_dir=cache)
    words = [w for s in segs for w in s["words"]]
    assert len(words) >= 20
    assert all(s["start"] - 0.05 <= w["start"] <= w["end"] <= s["end"] + 0.05 for s in segs for w in s["words"])
    assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:]))
    assert any("budget" in w["word"].lower() for w in words)
    bob = [w for w in words if turns[1].start - 0.3 <= w["start"] <= turns[1].end]  # Bob's turn, after a pause
    assert "twenty" in " ".join(w["word"].lower() for w in bob) or "25" in " ".join(w["word"] for w in bob)


def test_long_audio_in_windows_keeps_recording_times(speech, cache):
    wav, turns = speech
    segs = transcribe_file(wav, AsrParams(chunk_seconds=5, vad=False), cache_dir=cache)
    assert max(s["start"] for s in segs) > 5  # later windows are shifted to recording time
    assert all(a["start"] <= b["start"] for a, b in zip(segs, segs[1:]))
    assert wer_counts(REFERENCE, " ".join(s["text"] for s in segs))["wer"] <= 0.45


def test_batch_reports_bad_files_and_goes_on(tmp_path, speech, ci_overrides):
    wav, _ = speech
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"ID3 not really an mp3" * 20)
    params = load_params("ci", ci_overrides)
    out = transcribe_many([bad, wav], params, progress=False, use_ray=False)
    assert "error" in out[0] and "broken.mp3" in out[0]["error"]
    assert out[1]["segments"] and out[1]["stats"]["audio_s"] > 5
    # a second batch reuses the cached transcript (keyed by audio content and ASR parameters)
    again = transcribe_many([bad, wav], params, progress=False, use_ray=False)
    assert "error" in again[0] and again[1]["cached"] and again[1]["segments"] == out[1]["segments"]
    other = transcribe_many([wav], load_params("ci", ci_overrides + ["asr.beam_size=2"]), progress=False)
    assert "cached" not in other[0]
    with pytest.raises(AudioError, match="broken.mp3"):
        transcribe_file(bad, params)


def test_many_files_run_as_ray_tasks(tmp_path, speech, ci_overrides):
    import os

    import ray

    wav, _ = speech
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    params = load_params("ci", ci_overrides + ["asr.cpus_per_task=1"])
    out = transcribe_many([wav, bad, wav], params, progress=False)
    assert all(o["pid"] != os.getpid() for o in out)  # ran in Ray workers (>= asr.ray_min_files files)
    assert not ray.is_initialized()  # the Ray it started is stopped again
    assert [("error" in o) for o in out] == [False, True, False]
    assert out[0]["segments"] == out[2]["segments"]
    assert "empty.wav" in out[1]["error"]
