"""The HTTP API: routes, input checks and error shapes. Logic lives in the modules it calls.

Every error is JSON {"detail": "<what is wrong>"} with a 4xx status: ApiError from our code,
request validation (invalid JSON is a 400, a wrong field a 422), 413 from the body-size limit.
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile

from minutes import __version__
from minutes.config import Params
from minutes.serve import answering, ingest
from minutes.serve.bearer import token_problem
from minutes.serve.errors import ApiError
from minutes.serve.metrics import Metrics, MetricsMiddleware
from minutes.serve.minutes_doc import build_minutes
from minutes.serve.model_minutes import write_minutes
from minutes.online import feedback as feedback_rules
from minutes.online.records import minutes_record
from minutes.serve.schemas import (AskRequest, AskResponse, FeedbackRequest, FeedbackResponse, IngestResponse,
                                   MeetingInfo, MinutesRequest, MinutesResponse, SpeakerRenameRequest,
                                   SpeakerRenameResponse)
from minutes.serve.state import ServiceState, build_state
from minutes.serve.uploads import BodySizeLimit, safe_filename, save_stream

UPLOAD_PATHS = {"/transcribe", "/ingest"}


def minutes_for(s: ServiceState, meeting_id: str) -> dict[str, Any]:
    """Minutes written by the model behind the alias, or extracted (and saying so) when none is."""
    loaded = s.watcher.current
    if loaded.generator is not None:
        return write_minutes(s, loaded.generator, loaded.version, meeting_id)
    doc = build_minutes(meeting_id, s.corpus.utterances(meeting_id), s.params.serve.minutes_items)
    doc["fallback"] = {k: "no model" for k in doc["written_by"]}
    return doc


def _multipart(description: str, extra: dict[str, Any] | None = None,
               optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAPI for routes that parse their own multipart body (to check size and token first)."""
    props = {"file": {"type": "string", "format": "binary", "description": description}, **(extra or {}),
             **(optional or {})}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file", *(extra or {})], "properties": props}}}}}


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e.get("ctx", {}) for e in errors if e.get("type") == "json_invalid")
        return 400, f"invalid JSON body: {ctx.get('error', 'could not parse')}"
    parts = [f"{'.'.join(str(x) for x in e.get('loc', ()) if x != 'body') or 'body'}: {e.get('msg')}" for e in errors]
    return 422, "invalid request: " + "; ".join(parts)


def create_app(params: Params, state: ServiceState | None = None) -> FastAPI:
    """The FastAPI app; the state (corpus, index, model) is loaded at startup unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        st = app.state.service = state or await run_in_threadpool(build_state, params, metrics)
        st.watcher.start()
        try:
            yield
        finally:
            st.watcher.stop()
            if st.answer_log is not None:
                st.answer_log.close()

    app = FastAPI(title="Minutes API", version=__version__, lifespan=lifespan,
                  description="Questions about meetings answered from their transcripts, with cited passages; "
                              "minutes; transcription; ingest of new meetings into the live index.")
    metrics = state.metrics if state is not None else Metrics()
    page = resources.files("minutes.serve").joinpath("static/index.html").read_text(encoding="utf-8")
    max_upload = params.serve.max_upload_mb << 20

    def st(request: Request) -> ServiceState:
        return request.app.state.service

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = _validation_message(exc)
        return JSONResponse({"detail": message}, status_code=status)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index_page() -> str:
        return page

    @app.post("/ask", response_model=AskResponse, summary="Answer a question, citing transcript passages")
    def ask(req: AskRequest, request: Request) -> dict[str, Any]:
        return answering.ask(st(request), req)

    @app.post("/minutes", response_model=MinutesResponse,
              summary="Minutes of a meeting (summary, decisions, action items) with citations",
              responses={200: {"content": {"text/markdown": {}}}})
    def minutes(req: MinutesRequest, request: Request) -> Any:
        t0 = time.perf_counter()
        s = st(request)
        if req.meeting_id not in s.corpus:
            raise ApiError(404, f"unknown meeting_id {req.meeting_id!r} (see GET /meetings)")
        doc = s.minutes_cache.get(req.meeting_id)
        if doc is None:
            doc = minutes_for(s, req.meeting_id)
            transient = {"busy", "timeout"} & set((doc.get("fallback") or {}).values())
            if not transient:  # a busy or slow model may write them next time
                s.minutes_cache[req.meeting_id] = doc
        latency_ms = round((time.perf_counter() - t0) * 1000, 2)
        answer_id = answering.log_answer(s, minutes_record(req.meeting_id, doc, latency_ms))
        if req.format == "markdown":
            return PlainTextResponse(doc["markdown"], media_type="text/markdown; charset=utf-8",
                                     headers={"X-Answer-Id": answer_id} if answer_id else None)
        return {**doc, "answer_id": answer_id}  # a copy: the cached doc is shared by every response

    @app.post("/feedback", response_model=FeedbackResponse, status_code=201,
              summary="Rate an answer (up or down), optionally with a correction and flags on cited passages")
    def feedback(req: FeedbackRequest, request: Request) -> dict[str, Any]:
        s = st(request)
        if s.answer_log is None:
            raise ApiError(503, "feedback is disabled: this service keeps no answer log")
        stored = feedback_rules.submit(s.answer_log, s.params.serve.answer_log, req.answer_id, req.rating,
                                       req.correction, req.flags)
        s.metrics.feedback.labels(stored["rating"], stored["model_version"] or "none").inc()
        return stored

    async def receive_file(request: Request, fields: tuple[str, ...] = ()) -> tuple[Path, dict[str, str]]:
        """Save the multipart field `file` under a fresh spool dir; returns its path and text fields."""
        form = await request.form(max_files=1, max_fields=len(fields) + 1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "send the file as the multipart/form-data field 'file'")
        name = safe_filename(upload.filename)
        spool = ingest.spool_dir(st(request))
        path = spool / name
        try:
            await run_in_threadpool(save_stream, upload.file, path, max_upload)
        except BaseException:
            shutil.rmtree(spool, ignore_errors=True)
            raise
        values = {f: str(form.get(f) or "") for f in fields}
        await form.close()
        return path, values

    @app.post("/transcribe", summary="Transcribe an audio upload (json, txt, vtt or srt; speakers=true diarizes)",
              openapi_extra=_multipart("an audio file (wav, mp3, ogg, flac, m4a, mp4, webm ...)"))
    async def transcribe(request: Request, format: str = "json", speakers: bool = False,
                         num_speakers: int | None = None) -> Response:
        if format not in ("json", "txt", "vtt", "srt"):
            raise ApiError(422, f"format must be json, txt, vtt or srt, got {format!r}")
        if num_speakers is not None and not 1 <= num_speakers <= 32:
            raise ApiError(422, f"num_speakers must be between 1 and 32, got {num_speakers}")
        path, _ = await receive_file(request)
        try:
            segments = await run_in_threadpool(ingest.transcribe, st(request), path, speakers or bool(num_speakers),
                                               num_speakers)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
        from minutes import asr

        if format == "txt":
            return PlainTextResponse(asr.to_txt(segments), media_type="text/plain; charset=utf-8")
        if format == "vtt":
            return PlainTextResponse(asr.to_vtt(segments), media_type="text/vtt; charset=utf-8")
        if format == "srt":
            return PlainTextResponse(asr.to_srt(segments), media_type="application/x-subrip; charset=utf-8")
        return JSONResponse({"file": path.name, "segments": segments, "txt": asr.to_txt(segments),
                             "vtt": asr.to_vtt(segments)})

    @app.post("/ingest", response_model=IngestResponse, status_code=201,
              summary="Add a meeting (audio or transcript) to the live index; needs the ingest token",
              openapi_extra=_multipart("audio, or a transcript (.txt 'Speaker: text' lines, .vtt, .json)",
                                       {"meeting_id": {"type": "string"}}, {
                  "speakers": {"type": "boolean", "description": "diarize a recording (default serve.ingest_speakers)"},
                  "num_speakers": {"type": "integer", "minimum": 1, "maximum": 32},
                  "speaker_names": {"type": "string", "description": "names of Speaker 1, 2, ... comma-separated"}}))
    async def ingest_route(request: Request) -> dict[str, Any]:
        s = st(request)
        check_token(request, s.params.serve.ingest_token_env)  # before reading the body
        path, fields = await receive_file(request, ("meeting_id", "speakers", "num_speakers", "speaker_names"))
        try:
            meeting_id = ingest.check_meeting_id(s, fields["meeting_id"])
            speakers = ingest.SpeakerOptions.from_form(s, fields)
            return await run_in_threadpool(ingest.ingest_file, s, meeting_id, path, speakers)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)

    @app.get("/meetings", response_model=list[MeetingInfo], summary="Meetings the service can answer about")
    def meetings(request: Request) -> list[dict[str, Any]]:
        return st(request).corpus.meetings()

    def ingest_auth(request: Request) -> None:  # a dependency: runs before the body is validated
        check_token(request, st(request).params.serve.ingest_token_env)

    @app.patch("/meetings/{meeting_id}/speakers", response_model=SpeakerRenameResponse,
               dependencies=[Depends(ingest_auth)],
               summary="Rename a meeting's speakers (e.g. 'Speaker 1' -> a name); needs the ingest token")
    async def rename_speakers(meeting_id: str, req: SpeakerRenameRequest, request: Request) -> dict[str, Any]:
        return await run_in_threadpool(ingest.rename_speakers, st(request), meeting_id, req.names)

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: index loaded; model alias state")
    def readyz(request: Request) -> JSONResponse:
        s: ServiceState | None = getattr(request.app.state, "service", None)
        if s is None:
            return JSONResponse({"ready": False, "reason": "starting"}, status_code=503)
        size = s.index_size()
        loaded = s.watcher.current
        body = {"ready": size > 0, "index_chunks": size, "meetings": len(s.corpus),
                "alias": s.params.serve.model_alias, "model_version": loaded.version,
                "mode": "generative" if loaded.generator is not None else "extractive",
                "registry_error": s.watcher.last_error}
        return JSONResponse(body, status_code=200 if size > 0 else 503)

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    def metrics_route(request: Request) -> Response:
        s = st(request)
        s.refresh_gauges()
        return Response(s.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_middleware(BodySizeLimit, upload_paths=UPLOAD_PATHS, upload_bytes=max_upload)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def check_token(request: Request, env_name: str) -> None:
    """The ingest token (minutes.serve.bearer): 401 without one, 403 wrong, 503 none set."""
    problem = token_problem(request.headers.get("authorization", ""), env_name, "ingest")
    if problem is not None:
        raise ApiError(*problem)
