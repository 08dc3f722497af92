"""Parameters of the pipeline runner itself."""
from __future__ import annotations

from pydantic import Field

from minutes.config.base import Section


class RunnerParams(Section):
    #: Seconds a single notebook cell may run before papermill stops it.
    cell_timeout_s: int = Field(3600, ge=1)
    kernel: str = "python3"
    #: Reuse a notebook's last report when its notebook, parameters, code and the stage state it
    #: left are unchanged (and its services are up): minutes.pipeline.reuse.
    reuse_unchanged: bool = True

