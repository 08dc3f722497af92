"""Request and response bodies of the HTTP API (they are also its OpenAPI documentation)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A request body: a field the API does not know (a typo such as "meeting") is a 422, not
    silently ignored (which would, e.g., answer from the whole corpus instead of one meeting)."""

    model_config = ConfigDict(extra="forbid")


class AskRequest(Strict):
    question: str = Field(..., description="a question in plain language", examples=["What did they decide about the remote control?"])
    meeting_id: str | None = Field(None, description="restrict retrieval to one meeting")
    k: int | None = Field(None, description="passages to retrieve (1..serve.max_k)")
    mode: Literal["auto", "extractive", "generative"] = Field(
        "auto", description="auto: generative when a model holds the alias, else extractive")


class Source(BaseModel):
    meeting_id: str
    chunk_id: str
    speaker: str
    start: float
    end: float
    timing: Literal["real", "estimated"] = Field(
        "estimated", description="real: start/end were measured (timed transcript, speech recognition); "
                                 "estimated: derived from word counts (QMSum, untimed transcripts)")
    text: str
    score: float


class AskResponse(BaseModel):
    answer: str
    mode: Literal["extractive", "generative"]
    sources: list[Source]
    model_version: str | None
    groundedness: float | None = Field(
        None, description="generative answers: share of answer sentences supported by a cited utterance")
    fallback: Literal["busy", "timeout", "empty"] | None = Field(
        None, description="why a generative request was answered extractively (model busy, too slow, or silent)")
    latency_ms: float
    answer_id: str | None = Field(None, description="id to send POST /feedback about (null when the answer log failed)")


class MinutesRequest(Strict):
    meeting_id: str
    format: Literal["json", "markdown"] = "json"


class Citation(BaseModel):
    idx: int
    speaker: str
    start: float
    end: float
    text: str


class MinutesItem(BaseModel):
    text: str
    owner: str | None = None
    cites: list[Citation]


class MinutesResponse(BaseModel):
    meeting_id: str
    summary: list[MinutesItem]
    decisions: list[MinutesItem]
    action_items: list[MinutesItem]
    written_by: dict[str, Literal["model", "extractive"]] = {}
    model_version: str | None = None
    fallback: dict[str, str] | None = Field(
        None, description="sections the model could not write (busy, timeout, ungrounded) and were extracted")
    groundedness: dict[str, float | None] = {}
    markdown: str
    answer_id: str | None = Field(None, description="id to send POST /feedback about (also the X-Answer-Id header "
                                                     "of a markdown response)")


class FeedbackRequest(Strict):
    answer_id: str = Field(..., description="the answer_id of an /ask or /minutes response")
    rating: Literal["up", "down"]
    correction: str | None = Field(None, description="what the answer should have said (serve.answer_log.max_correction_chars)")
    flags: list[str] = Field([], description="cited passages that are wrong: a source's chunk_id (/ask) or "
                                             "'<meeting_id>:<idx>' of a citation (/minutes)")


class FeedbackResponse(BaseModel):
    feedback_id: int
    answer_id: str
    rating: Literal["up", "down"]


class MeetingInfo(BaseModel):
    meeting_id: str
    domain: str
    split: str
    n_utterances: int
    duration_s: float
    speakers: list[str]
    source: str


class SpeakerRenameRequest(Strict):
    names: dict[str, str] = Field(..., description="old speaker name -> new name (1-64 characters, no ':')",
                                  examples=[{"Speaker 1": "Alice", "Speaker 2": "Bob"}])


class SpeakerRenameResponse(MeetingInfo):
    renamed: dict[str, str] = Field(..., description="the renames that changed something")
    index_version: str


class IngestResponse(BaseModel):
    meeting_id: str
    utterances: int
    chunks: int
    index_chunks: int
    seconds: float
