"""Parameters of the FastAPI service and its deployment (50_deploy, 60_demo)."""
from __future__ import annotations

from pydantic import Field

from minutes.config.base import Section


class LoadTestParams(Section):
    requests: int = Field(500, ge=1)
    concurrency: int = Field(8, ge=1)
    generative_requests: int = Field(20, ge=0)


class ServeParams(Section):
    host: str = "127.0.0.1"
    port: int = Field(8800, ge=1, le=65535)
    model_alias: str = "staging"
    max_question_chars: int = Field(2000, ge=1)
    max_upload_mb: int = Field(200, ge=1)
    #: Name of the environment variable holding the ingest token (never the token itself).
    ingest_token_env: str = "MINUTES_INGEST_TOKEN"
    alias_poll_seconds: float = Field(10.0, gt=0)
    loadtest: LoadTestParams = LoadTestParams()
