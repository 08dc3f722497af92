"""Audio in: conversion to 16 kHz mono, windows for long audio, clear errors for bad files."""
import subprocess
import wave

import numpy as np
import pytest

from minutes.asr.audio import AudioError, duration, is_wav16k, read_window, to_wav16k, windows, write_wav16k


def test_any_format_becomes_16k_mono(tmp_path, speech):
    wav, _ = speech
    ogg = tmp_path / "talk.ogg"  # stereo 44.1 kHz Ogg/Vorbis, as a user's recording might be
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-ac", "2", "-ar", "44100",
                    "-c:a", "libvorbis", str(ogg)], check=True)
    assert not is_wav16k(ogg)
    out = to_wav16k(ogg, tmp_path / "out.wav")
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
    assert duration(out) == pytest.approx(duration(wav), abs=0.1)
    assert not list(tmp_path.glob(".*tmp"))  # no temporaries left beside it


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10, b"just some text\n" * 50])
def test_corrupt_or_non_audio_input_is_a_clear_error(tmp_path, content):
    bad = tmp_path / "meeting.wav"
    bad.write_bytes(content)
    with pytest.raises(AudioError) as info:
        to_wav16k(bad, tmp_path / "out.wav")
    assert str(bad) in str(info.value) and "audio" in str(info.value)
    assert not (tmp_path / "out.wav").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["meeting.wav"]  # nothing half-written


def test_missing_file_and_video_without_audio(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        to_wav16k(tmp_path / "nope.mp3", tmp_path / "out.wav")
    video = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1",
                    "-c:v", "mpeg4", str(video)], check=True)
    with pytest.raises(AudioError, match="silent.mp4"):
        to_wav16k(video, tmp_path / "out.wav")


def test_windows_cut_long_audio_at_quiet_points(tmp_path):
    rng = np.random.default_rng(0)
    sr = 16000
    # 30 s of "speech" (noise bursts) with 0.3 s silences every 2 s
    x = rng.normal(0, 0.2, 30 * sr).astype(np.float32)
    for k in range(1, 15):
        x[int((2 * k - 0.3) * sr):2 * k * sr] = 0
    path = write_wav16k(tmp_path / "long.wav", x)
    bounds = windows(path, window_s=7.0, search_s=2.5)
    assert bounds[0][0] == 0 and bounds[-1][1] == pytest.approx(30.0)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, no gap, no overlap
    assert all(e - s <= 7.0 + 1e-6 for s, e in bounds)
    for _, cut in bounds[:-1]:  # every cut falls inside a silence
        assert np.abs(read_window(path, cut - 0.02, cut + 0.02)).max() == 0
    assert len(read_window(path, 10, 12)) == 2 * sr


def test_read_window_refuses_unconverted_audio(tmp_path):
    p = tmp_path / "hi.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(44100)
        w.writeframes(b"\x00" * 4000)
    with pytest.raises(AudioError, match="to_wav16k"):
        read_window(p)
