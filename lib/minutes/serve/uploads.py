"""Uploaded files: safe names, a size limit enforced while streaming, and an audio check.

Every rejection is an `UploadError` carrying the HTTP status the API answers with, so the routes
never turn bad input into a 500.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, BinaryIO

from minutes.serve.errors import ApiError

AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".mp4", ".webm", ".aac"})
TRANSCRIPT_SUFFIXES = frozenset({".json", ".txt", ".vtt"})
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.()-]{0,199}")


class UploadError(ApiError):
    """Bad upload; `status` is the HTTP status to answer with."""


def safe_filename(name: str | None) -> str:
    """The upload's own name, refused when it has path components or odd characters."""
    if not name:
        raise UploadError(400, "the upload has no file name")
    if "/" in name or "\\" in name or "\x00" in name or ".." in name or re.match(r"^[A-Za-z]:", name):
        raise UploadError(400, f"file name {name!r} has path components; send a plain file name")
    if not _SAFE_NAME.fullmatch(name):
        raise UploadError(400, f"file name {name!r} has characters outside [A-Za-z0-9 _.()-] or is too long")
    return name


def save_stream(src: BinaryIO, dest: Path, max_bytes: int) -> int:
    """Copy an upload to `dest`, stopping with 413 as soon as it passes `max_bytes`."""
    n = 0
    with dest.open("wb") as out:
        while block := src.read(1 << 20):
            n += len(block)
            if n > max_bytes:
                raise UploadError(413, f"upload is larger than the limit of {max_bytes // (1 << 20)} MB")
            out.write(block)
    if n == 0:
        raise UploadError(400, "the uploaded file is empty")
    return n


def probe_audio(path: Path) -> float:
    """Duration in seconds of a decodable audio file; 415 for non-audio, 422 for corrupt files."""
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise UploadError(415, f"{path.name}: not an audio file (accepted: {', '.join(sorted(AUDIO_SUFFIXES))})")
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise RuntimeError("ffprobe is not installed (Debian package ffmpeg)")
    proc = subprocess.run([ffprobe, "-v", "error", "-show_entries", "stream=codec_type:format=duration",
                           "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise UploadError(422, f"{path.name}: cannot be decoded as audio ({proc.stderr.strip()[:200] or 'ffprobe failed'})")
    info = json.loads(proc.stdout or "{}")
    if not any(s.get("codec_type") == "audio" for s in info.get("streams", [])):
        raise UploadError(415, f"{path.name}: the file holds no audio stream")
    try:
        duration = float(info.get("format", {}).get("duration", 0.0))
    except (TypeError, ValueError):
        duration = 0.0
    if duration <= 0:
        raise UploadError(422, f"{path.name}: the audio has no duration (corrupt or empty)")
    return duration


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: 413 before reading a body whose Content-Length is over the limit, and
    as soon as a streamed (chunked) body passes it, so nothing oversized reaches the disk.
    Upload routes get `upload_bytes`; every other route `other_bytes`."""

    def __init__(self, app: Any, upload_paths: set[str], upload_bytes: int, other_bytes: int = 1 << 20) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.upload_bytes = upload_bytes
        self.other_bytes = other_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if scope["path"] in self.upload_paths else self.other_bytes
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > limit:
            await _reject(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)


async def _reject(send: Any, limit: int) -> None:
    body = json.dumps({"detail": f"request body is larger than the limit of {limit / (1 << 20):g} MB"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
