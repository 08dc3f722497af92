"""Every kind of bad input gets a 4xx with a message naming what was wrong, never a 500
(real uvicorn on loopback; see conftest.serve_env)."""
from __future__ import annotations

import io
import wave
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


def detail(r: httpx.Response) -> str:
    body = r.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    return body["detail"]


@pytest.mark.parametrize("body, status, words", [
    ({"question": ""}, 422, "empty"),
    ({"question": "   \n\t "}, 422, "whitespace"),
    ({"question": "why " * 600}, 413, "limit"),
    ({"question": "What colour?", "meeting_id": "nope"}, 404, "unknown meeting_id"),
    ({"question": "What colour?", "k": 0}, 422, "k must be between"),
    ({"question": "What colour?", "k": 500}, 422, "k must be between"),
    ({"question": "What colour?", "k": "many"}, 422, "k"),
    ({"question": 42}, 422, "question"),
    ({"meeting_id": "design01"}, 422, "question"),
    ({"question": "What colour?", "mode": "poetic"}, 422, "mode"),
])
def test_ask_rejects(http: httpx.Client, body: dict[str, Any], status: int, words: str) -> None:
    r = http.post("/ask", json=body)
    assert r.status_code == status, r.text
    assert words in detail(r)


def test_invalid_json_is_400(http: httpx.Client) -> None:
    r = http.post("/ask", content=b'{"question": "unterminated', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "invalid JSON" in detail(r)


def test_oversized_json_body_is_413(http: httpx.Client) -> None:
    r = http.post("/ask", content=b'{"question": "' + b"a" * (2 << 20) + b'"}',
                  headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "larger than the limit" in detail(r)


def test_minutes_unknown_meeting_and_bad_format(http: httpx.Client) -> None:
    r = http.post("/minutes", json={"meeting_id": "missing-meeting"})
    assert r.status_code == 404 and "missing-meeting" in detail(r)
    r = http.post("/minutes", json={"meeting_id": "design01", "format": "pdf"})
    assert r.status_code == 422 and "format" in detail(r)


def _silence_wav_header_only() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    return buf.getvalue()


@pytest.mark.parametrize("name, data, status, words", [
    ("notes.pdf", b"%PDF-1.4 not audio", 415, "not an audio file"),
    ("broken.wav", b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10, 422, "cannot be decoded"),
    ("empty.wav", b"", 400, "empty"),
    # a header with no samples: no duration, or nothing ffprobe can decode
    ("silence.wav", _silence_wav_header_only(), 422, ("no duration", "cannot be decoded")),
    ("../../etc/passwd.wav", b"RIFF", 400, "path components"),
    # (a drive-letter name like C:\\x\\a.wav is cut to its base name by the multipart parser itself)
    ("audio\\sub\\a.wav", b"RIFF", 400, "path components"),
    ("we;ird$.wav", b"RIFF", 400, "characters outside"),
])
def test_transcribe_rejects(http: httpx.Client, name: str, data: bytes, status: int,
                            words: str | tuple[str, ...]) -> None:
    r = http.post("/transcribe", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == status, r.text
    text = detail(r)
    assert any(w in text for w in ((words,) if isinstance(words, str) else words)), text


def test_transcribe_without_file_field(http: httpx.Client) -> None:
    r = http.post("/transcribe", files={"audio": ("a.wav", b"RIFF")})
    assert r.status_code == 422 and "field 'file'" in detail(r)
    r = http.post("/transcribe", params={"format": "pdf"}, files={"file": ("a.wav", b"RIFF")})
    assert r.status_code == 422 and "format" in detail(r)


def test_upload_over_the_limit_is_413(http: httpx.Client) -> None:
    big = b"\0" * ((1 << 20) + 4096)  # the test service allows 1 MB (serve.max_upload_mb=1)
    r = http.post("/transcribe", files={"file": ("long.wav", big, "audio/wav")})
    assert r.status_code == 413 and "limit" in detail(r)


def test_streamed_upload_over_the_limit_is_413(http: httpx.Client) -> None:
    def chunks() -> Any:  # no Content-Length: the limit must hold while streaming
        yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="long.wav"\r\n'
               b"Content-Type: audio/wav\r\n\r\n")
        for _ in range(40):
            yield b"x" * 65536

    r = http.post("/transcribe", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "limit" in detail(r)


def test_malformed_multipart_is_400(http: httpx.Client) -> None:
    r = http.post("/transcribe", content=b"x" * 100, headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400
    detail(r)


@pytest.mark.parametrize("headers, status, words", [
    ({}, 401, "missing ingest token"),
    ({"Authorization": "Bearer"}, 401, "missing ingest token"),
    ({"Authorization": "Basic dXNlcjpwdw=="}, 401, "missing ingest token"),
    ({"Authorization": "Bearer wrong-token"}, 403, "wrong ingest token"),
])
def test_ingest_token_is_checked(http: httpx.Client, headers: dict[str, str], status: int, words: str) -> None:
    r = http.post("/ingest", headers=headers, data={"meeting_id": "tok01"},
                  files={"file": ("m.txt", b"Alice: hello there everyone", "text/plain")})
    assert r.status_code == status
    assert words in detail(r)
    assert all(m["meeting_id"] != "tok01" for m in http.get("/meetings").json())


@pytest.mark.parametrize("meeting_id, name, data, status, words", [
    ("bad id!", "m.txt", b"Alice: hello", 422, "meeting_id"),
    ("", "m.txt", b"Alice: hello", 422, "meeting_id"),
    ("design01", "m.txt", b"Alice: hello there", 409, "already exists"),
    ("bad01", "m.txt", b"no speaker on this line", 422, "not 'Speaker: text'"),
    ("bad02", "m.vtt", b"00:00.000 --> 00:01.000\nhi", 422, "WEBVTT"),
    ("bad03", "m.json", b"{\"utterances\": 5}", 422, "expected a list"),
    ("bad04", "m.json", b"[{\"speaker\": \"A\"}]", 422, "needs a string 'text'"),
    ("bad05", "m.txt", b"\xff\xfe\x00bin", 422, "UTF-8"),
    ("bad06", "m.docx", b"PK\x03\x04", 415, "expected audio"),
    ("bad07", "m.txt", b"   \n\n", 422, "no utterances"),
])
def test_ingest_rejects(http: httpx.Client, serve_env: dict[str, Any], meeting_id: str, name: str, data: bytes,
                        status: int, words: str) -> None:
    r = http.post("/ingest", headers={"Authorization": f"Bearer {serve_env['token']}"},
                  data={"meeting_id": meeting_id}, files={"file": (name, data)})
    assert r.status_code == status, r.text
    assert words in detail(r)


def test_unknown_route_and_method(http: httpx.Client) -> None:
    assert http.get("/nowhere").status_code == 404
    assert http.get("/ask").status_code == 405


def test_no_500_was_ever_served(http: httpx.Client) -> None:
    """After all the above (same server): the error counter holds no 5xx."""
    text = http.get("/metrics").text
    five = [line for line in text.splitlines() if line.startswith("minutes_errors_total") and 'status="5' in line]
    assert not five, five
