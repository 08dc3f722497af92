"""No error body names a server path, a traceback or a secret: a table of bad inputs across every
endpoint, sent to the real service (uvicorn on loopback, conftest.serve_env), each answer scanned
for the work dir, the repository, the virtual environment, /tmp, /root, home folders, Python
tracebacks, memory addresses and the values of secret environment variables (the ingest token
included)."""
from __future__ import annotations

import io
import os
import re
import sys
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest

from minutes import REPO_ROOT
from minutes.reports.scrub import secret_values

pytestmark = pytest.mark.slow


def _wav(frames: bytes, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


#: A valid header whose data chunk claims far more samples than follow it.
TRUNCATED_WAV = _wav(b"\x01\x00" * 800)[:40] + (10 ** 8).to_bytes(4, "little") + b"\x00" * 64
BAD_AUDIO = {
    "broken.wav": b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10,
    "truncated.wav": TRUNCATED_WAV,
    "noise.mp3": b"ID3\x03\x00\x00\x00\x00\x00\x10" + os.urandom(256),
    "fake.ogg": b"OggS" + b"\x00" * 200,
    "fake.flac": b"fLaC" + b"\xff" * 100,
    "video.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100,
    "header-only.wav": _wav(b""),
}


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    json_h = {"content-type": "application/json"}
    cases: list[tuple[str, str, dict[str, Any]]] = [
        # /ask: bad JSON, wrong types, out of range, unknown ids, oversize, wrong content type
        ("POST", "/ask", {"content": b'{"question": "unterminated', "headers": json_h}),
        ("POST", "/ask", {"content": b"[1, 2, 3]", "headers": json_h}),
        ("POST", "/ask", {"content": b"\xff\xfe\xfd", "headers": json_h}),
        ("POST", "/ask", {"content": b"question=hi", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
        ("POST", "/ask", {"json": {"question": {"nested": ["x"]}}}),
        ("POST", "/ask", {"json": {"question": "What colour?", "meeting_id": "../../../etc/passwd"}}),
        ("POST", "/ask", {"json": {"question": "What colour?", "meeting_id": "no-such-meeting"}}),
        ("POST", "/ask", {"json": {"question": "What colour?", "k": 10 ** 30}}),
        ("POST", "/ask", {"json": {"question": "What colour?", "k": -1}}),
        ("POST", "/ask", {"json": {"question": "What colour?", "mode": None}}),
        ("POST", "/ask", {"json": {"question": "What colour?", "method": "telepathy"}}),
        ("POST", "/ask", {"json": {"question": "\x00\x01\x02"}}),
        ("POST", "/ask", {"json": {"question": "why " * 5000}}),
        ("POST", "/ask", {"content": b'{"question": "' + b"a" * (3 << 20) + b'"}', "headers": json_h}),
        # /minutes
        ("POST", "/minutes", {"json": {"meeting_id": "../../work/etl"}}),
        ("POST", "/minutes", {"json": {"meeting_id": 17}}),
        ("POST", "/minutes", {"json": {}}),
        ("POST", "/minutes", {"json": {"meeting_id": "design01", "format": "../../x"}}),
        ("POST", "/minutes", {"content": b"{", "headers": json_h}),
        # /feedback
        ("POST", "/feedback", {"json": {"answer_id": "no-such-answer", "rating": "up"}}),
        ("POST", "/feedback", {"json": {"answer_id": "../../answers.sqlite", "rating": "down"}}),
        ("POST", "/feedback", {"json": {"answer_id": "x", "rating": "meh"}}),
        ("POST", "/feedback", {"json": {"answer_id": "x", "rating": "up", "flags": "not-a-list"}}),
        ("POST", "/feedback", {"json": {"answer_id": "x", "rating": "up", "correction": "c" * 100_000}}),
        ("POST", "/feedback", {"json": {"rating": "up"}}),
        ("POST", "/feedback", {"content": b"nope", "headers": json_h}),
        # /transcribe: query parameters, multipart shape, size, names
        ("POST", "/transcribe?format=../../etc", {"files": {"file": ("a.wav", b"RIFF")}}),
        ("POST", "/transcribe?num_speakers=lots", {"files": {"file": ("a.wav", b"RIFF")}}),
        ("POST", "/transcribe?num_speakers=99", {"files": {"file": ("a.wav", b"RIFF")}}),
        ("POST", "/transcribe?speakers=maybe", {"files": {"file": ("a.wav", b"RIFF")}}),
        ("POST", "/transcribe", {"files": {"upload": ("a.wav", b"RIFF")}}),
        ("POST", "/transcribe", {"content": b"x" * 64, "headers": {"content-type": "multipart/form-data; boundary=zz"}}),
        ("POST", "/transcribe", {"content": b"RIFF....", "headers": {"content-type": "audio/wav"}}),
        ("POST", "/transcribe", {"files": {"file": ("/etc/shadow.wav", b"RIFF")}}),
        ("POST", "/transcribe", {"files": {"file": ("a" * 400 + ".wav", b"RIFF")}}),
        ("POST", "/transcribe", {"files": {"file": ("big.wav", b"\0" * ((1 << 20) + 8192))}}),
        # /meetings and unknown routes or methods
        ("GET", "/meetings/design01", {}),
        ("GET", "/meetings/..%2F..%2Fetc%2Fpasswd", {}),
        ("DELETE", "/meetings", {}),
        ("GET", "/ask", {}),
        ("GET", "/static/../../pyproject.toml", {}),
        ("GET", "/nowhere", {}),
    ]
    for name, data in BAD_AUDIO.items():
        cases.append(("POST", "/transcribe", {"files": {"file": (name, data)}}))
    return cases


def _ingest_cases(token: str) -> list[tuple[str, str, dict[str, Any]]]:
    auth = {"Authorization": f"Bearer {token}"}
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/ingest", {"headers": {"Authorization": "Bearer not-the-token"}, "data": {"meeting_id": "x1"},
                             "files": {"file": ("m.txt", b"A: hi")}}),
        ("POST", "/ingest", {"data": {"meeting_id": "x1"}, "files": {"file": ("m.txt", b"A: hi")}}),
        ("POST", "/ingest", {"headers": auth, "data": {"meeting_id": "../../etl"}, "files": {"file": ("m.txt", b"A: hi")}}),
        ("POST", "/ingest", {"headers": auth, "data": {"meeting_id": "design01"}, "files": {"file": ("m.txt", b"A: hi there")}}),
        ("POST", "/ingest", {"headers": auth, "files": {"file": ("m.txt", b"A: hi")}}),
        ("POST", "/ingest", {"headers": auth, "data": {"meeting_id": "err01"}, "files": {"file": ("m.json", b"{")}}),
        ("POST", "/ingest", {"headers": auth, "data": {"meeting_id": "err02"},
                             "files": {"file": ("m.json", b'[{"speaker": 3, "text": 4}]')}}),
        ("POST", "/ingest", {"headers": auth, "data": {"meeting_id": "err03"}, "files": {"file": ("m.srt", b"1\nnope")}}),
        ("POST", "/ingest", {"headers": auth, "data": {"meeting_id": "err04"},
                             "files": {"file": ("big.txt", b"A: " + b"x" * ((1 << 20) + 8192))}}),
    ]
    for i, (name, data) in enumerate(BAD_AUDIO.items()):
        cases.append(("POST", "/ingest", {"headers": auth, "data": {"meeting_id": f"audio{i:02d}"},
                                          "files": {"file": (name, data)}}))
    return cases


def _forbidden(serve_env: dict[str, Any]) -> list[str]:
    params = serve_env["params"]
    paths = {str(params.work_dir), str(Path(params.work_dir).resolve()), str(REPO_ROOT), sys.prefix,
             str(Path(sys.executable).resolve().parent), str(Path.home()), "/tmp/", "/root", "/home/",
             "/usr/lib/python", "site-packages"}
    return sorted(paths | set(secret_values(extra=[serve_env["token"]])), key=len, reverse=True)


#: Tracebacks, and memory addresses (Python reprs "at 0x7f..", ffprobe's "[wav @ 0x55..]").
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|0x[0-9a-f]{8,}")


def test_no_error_body_names_a_server_path_or_secret(http: httpx.Client, serve_env: dict[str, Any]) -> None:
    forbidden = _forbidden(serve_env)
    leaks, not_4xx = [], []
    for method, path, kwargs in _cases() + _ingest_cases(serve_env["token"]):
        r = http.request(method, path, **kwargs)
        label = f"{method} {path} {str(kwargs)[:120]}"
        if not 400 <= r.status_code < 500:
            not_4xx.append(f"{label} -> {r.status_code} {r.text[:300]}")
        body = r.text
        found = [f for f in forbidden if f in body] + TRACEBACK.findall(body)
        if found:
            leaks.append(f"{label} -> {r.status_code}: {found} in {body[:400]!r}")
    assert not not_4xx, "\n".join(not_4xx)
    assert not leaks, "\n".join(leaks)
    # nothing of the above was taken in
    assert not {m["meeting_id"] for m in http.get("/meetings").json()} & {"x1", "err01", "err02", "err03", "err04"}
