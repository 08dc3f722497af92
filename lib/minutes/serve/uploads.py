"""Uploaded files: safe names, a size limit enforced while streaming, and an audio check.

Every rejection is an `UploadError` carrying the HTTP status the API answers with, so the routes
never turn bad input into a 500.
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, BinaryIO

from minutes.serve.errors import ApiError, without_dir

_POINTER = re.compile(r" @ 0x[0-9a-fA-F]+")

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
    # run in the spool dir on the bare name, so ffprobe's messages never carry the server's path
    proc = subprocess.run([ffprobe, "-v", "error", "-show_entries", "stream=codec_type:format=duration",
                           "-of", "json", f"file:{path.name}"], capture_output=True, text=True, timeout=60,
                          cwd=path.parent)
    if proc.returncode != 0:
        # ffprobe prefixes its messages with a pointer ("[wav @ 0x55d1...]"): the address goes
        reason = _POINTER.sub("", without_dir(proc.stderr, path.parent)).replace("file:", "").strip()[:200]
        raise UploadError(422, f"{path.name}: cannot be decoded as audio ({reason or 'ffprobe failed'})")
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
    """Raised inside the app's `receive` once a streamed body passes the limit."""


class BodySizeLimit:
    """ASGI middleware: 413 before reading a body whose Content-Length is over the limit, and
    as soon as a streamed (chunked) body passes it, so nothing oversized reaches the disk.

    The 413 goes out first, then the rest of the body is read and discarded (up to
    `drain_bytes`, and only while the client keeps sending): closing a socket with unread data
    makes the kernel answer with a reset, and the client would see "connection reset by peer"
    instead of the 413. Upload routes get `upload_bytes`; every other route `other_bytes`.
    """

    def __init__(self, app: Any, upload_paths: set[str], upload_bytes: int, other_bytes: int = 1 << 20,
                 drain_bytes: int = 1 << 30, drain_idle_s: float = 5.0) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.upload_bytes = upload_bytes
        self.other_bytes = other_bytes
        self.drain_bytes = drain_bytes
        self.drain_idle_s = drain_idle_s

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in self.upload_paths
        limit = self.upload_bytes if upload else self.other_bytes
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > limit:
            await self._reject(receive, send, limit, upload, more=declared <= self.drain_bytes)
            return
        seen = 0
        started = False
        finished = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen, finished
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                finished = not message.get("more_body", False)
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
                await self._reject(receive, send, limit, upload, more=not finished)

    async def _reject(self, receive: Any, send: Any, limit: int, upload: bool, more: bool) -> None:
        """Send the 413, discard what the client still sends, then end the response."""
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": too_large_body(limit, upload), "more_body": True})
        drained = 0
        while more and drained <= self.drain_bytes:
            try:
                message = await asyncio.wait_for(receive(), timeout=self.drain_idle_s)
            except asyncio.TimeoutError:  # the client stopped sending (e.g. it saw the 413)
                break
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            more = bool(message.get("more_body", False))
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def too_large_body(limit: int, upload: bool) -> bytes:
    """The 413's JSON, naming the limit (and the parameter that sets it, for uploads)."""
    what = (f"upload is larger than the limit of {limit / (1 << 20):g} MB (serve.max_upload_mb)" if upload
            else f"request body is larger than the limit of {limit / (1 << 20):g} MB")
    return json.dumps({"detail": what}).encode()
