"""Uploads over serve.max_upload_mb get a 413 JSON naming the limit, with and without a
Content-Length, and the connection ends cleanly (no reset); a real uvicorn on loopback serves
the real app (its service state stubbed: the 413 comes before any route touches it)."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import httpx
import pytest
import uvicorn

from minutes.config import load_params
from minutes.serve.app import create_app
from minutes.serve.metrics import Metrics

LIMIT_MB = 1


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    params = load_params("ci", [f"work_dir={tmp_path_factory.mktemp('work')}", f"serve.max_upload_mb={LIMIT_MB}"])
    watcher = SimpleNamespace(start=lambda: None, stop=lambda: None)
    app = create_app(params, state=SimpleNamespace(metrics=Metrics(), watcher=watcher, params=params))  # type: ignore[arg-type]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "minutesboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("route", ["/transcribe", "/ingest"])
def test_declared_oversize_upload_is_413_naming_the_limit(base_url: str, route: str) -> None:
    body, ctype = _multipart(5 * LIMIT_MB << 20)
    headers = {"content-type": ctype, "authorization": "Bearer x"}
    r = httpx.post(base_url + route, content=body, headers=headers, timeout=30)  # httpx sets Content-Length
    assert r.status_code == 413
    assert r.json() == {"detail": "upload is larger than the limit of 1 MB (serve.max_upload_mb)"}
    assert r.headers["connection"] == "close"


@pytest.mark.parametrize("route", ["/transcribe", "/ingest"])
def test_streamed_oversize_upload_is_413(base_url: str, route: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINUTES_INGEST_TOKEN", "x")  # /ingest reads the body only with a valid token
    body, ctype = _multipart(5 * LIMIT_MB << 20)

    def chunks() -> Iterator[bytes]:  # an iterator: httpx sends Transfer-Encoding: chunked
        for i in range(0, len(body), 64 << 10):
            yield body[i:i + (64 << 10)]

    r = httpx.post(base_url + route, content=chunks(), headers={"content-type": ctype, "authorization": "Bearer x"},
                   timeout=30)
    assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
    assert r.status_code == 413
    assert r.json() == {"detail": "upload is larger than the limit of 1 MB (serve.max_upload_mb)"}


def _raw_post(base_url: str, head: bytes, body: bytes) -> bytes:
    """Send the whole request on a plain socket, then read the answer until the server closes."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + body)  # raises ConnectionResetError if the server reset mid-body
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_connection_closes_cleanly_after_the_413(base_url: str) -> None:
    body, ctype = _multipart(8 * LIMIT_MB << 20)
    head = (f"POST /transcribe HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    answer = _raw_post(base_url, head, body)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"limit of 1 MB" in answer


def test_small_bodies_still_reach_the_routes(base_url: str) -> None:
    r = httpx.post(base_url + "/transcribe?format=pdf", files={"file": ("a.wav", b"RIFF")}, timeout=30)
    assert r.status_code == 422 and "format must be" in r.json()["detail"]


def test_decode_failure_names_no_server_path(tmp_path: Path) -> None:
    """ffprobe names the file it read; the 422 carries only the upload's own name."""
    import shutil

    from minutes.serve.uploads import UploadError, probe_audio

    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed")
    bad = tmp_path / "spool" / "broken.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(UploadError) as err:
        probe_audio(bad)
    assert err.value.status == 422
    assert err.value.message.startswith("broken.wav: cannot be decoded as audio")
    assert str(tmp_path) not in err.value.message and "/spool" not in err.value.message


def test_without_dir_cuts_the_directory() -> None:
    from minutes.serve.errors import without_dir

    d = Path("/var/spool/minutes/abc123")
    assert without_dir(f"{d}/a.wav: Invalid data; cwd {d}", d) == "a.wav: Invalid data; cwd <upload>"


