"""Parameters of the pipeline runner itself."""
from __future__ import annotations

from pydantic import Field

from minutes.config.base import Section


class RunnerParams(Section):
    #: Seconds a single notebook cell may run before papermill stops it.
    cell_timeout_s: int = Field(3600, ge=1)
    kernel: str = "python3"

