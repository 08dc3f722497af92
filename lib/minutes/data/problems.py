"""Bad input is reported, not fatal: each problem names the file and the reason, and the batch
goes on. The stage fails only when asked to be strict (`data.strict`)."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class BadInput(ValueError):
    """One input cannot be used; the message names the file and the reason."""

    def __init__(self, file: str, reason: str, kind: str = "invalid") -> None:
        super().__init__(f"{file}: {reason}")
        self.file, self.reason, self.kind = str(file), reason, kind


class StrictFailure(RuntimeError):
    """Raised at the end of a strict run that met bad input (after the report is written)."""


@dataclass
class Problem:
    file: str
    reason: str
    kind: str = "invalid"  # invalid-json | not-utf8 | schema | span-out-of-bounds | audio | ...
    stage: str = "etl"


@dataclass
class ProblemLog:
    """Collects problems from every source of one run."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, file: Any, reason: str, kind: str = "invalid", stage: str = "etl") -> None:
        self.problems.append(Problem(str(file), reason, kind, stage))
        log.warning("bad input: %s: %s", file, reason)

    def add_exc(self, exc: BadInput, stage: str = "etl") -> None:
        self.add(exc.file, exc.reason, exc.kind, stage)

    def extend(self, problems: list[dict[str, Any]]) -> None:
        for p in problems:
            self.problems.append(Problem(**p))

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.problems]

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_strict(self, strict: bool) -> None:
        if strict and self.problems:
            lines = "\n  ".join(f"{p.file}: {p.reason}" for p in self.problems[:20])
            raise StrictFailure(f"{len(self.problems)} bad input(s) and data.strict is set:\n  {lines}")
