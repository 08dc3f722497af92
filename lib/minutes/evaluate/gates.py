"""Promotion gates as pure functions: numbers in, a decision with its reason out.

A candidate passes when it beats the extractive baseline by the margin AND (when some version
already holds the alias) falls at most the tolerance below that version. Keeping this free of
MLflow makes every branch testable without a server; `promotion.apply_decision` acts on it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from minutes.config.evaluate import GateParams


@dataclass(frozen=True)
class GateCheck:
    name: str
    passed: bool
    value: float
    threshold: float
    detail: str


@dataclass(frozen=True)
class GateDecision:
    """What the gates decided about one candidate version, and why."""

    candidate: str | None
    passed: bool
    reason: str
    metric: str
    candidate_score: float | None
    extractive_score: float
    promoted_version: str | None = None
    promoted_score: float | None = None
    checks: list[GateCheck] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(candidate: str | None, candidate_score: float | None, extractive_score: float,
           gates: GateParams, promoted_version: str | None = None,
           promoted_score: float | None = None) -> GateDecision:
    """Apply the gates. Scores are ROUGE points of `gates.metric` on the same queries.

    `candidate` None (nothing registered yet) fails with that reason; `promoted_version` None
    (nobody holds the alias) skips the regression check; a candidate that already holds the
    alias is compared with the baseline only.
    """
    common = dict(metric=gates.metric, extractive_score=extractive_score,
                  promoted_version=promoted_version, promoted_score=promoted_score)
    if candidate is None or candidate_score is None:
        return GateDecision(candidate, False, "no candidate model version is registered",
                            candidate_score=candidate_score, **common)
    need = extractive_score + gates.min_margin_over_extractive
    checks = [GateCheck(
        "beats_extractive", candidate_score > need, candidate_score, need,
        f"{gates.metric} {candidate_score:.2f} vs extractive {extractive_score:.2f} "
        f"+ margin {gates.min_margin_over_extractive:.2f} = {need:.2f}")]
    if promoted_version is not None and promoted_version != candidate:
        if promoted_score is None:
            raise ValueError(f"version {promoted_version} holds the alias but has no score")
        floor = promoted_score - gates.max_drop_vs_promoted
        checks.append(GateCheck(
            "no_regression", candidate_score >= floor, candidate_score, floor,
            f"{gates.metric} {candidate_score:.2f} vs promoted v{promoted_version} "
            f"{promoted_score:.2f} - tolerance {gates.max_drop_vs_promoted:.2f} = {floor:.2f}"))
    failed = [c for c in checks if not c.passed]
    if failed:
        reason = "; ".join(f"failed {c.name}: {c.detail}" for c in failed)
    elif len(checks) == 1:
        reason = (f"passed: {checks[0].detail}; "
                  + ("candidate already holds the alias" if promoted_version == candidate
                     else "no version holds the alias yet"))
    else:
        reason = "passed: " + "; ".join(c.detail for c in checks)
    return GateDecision(candidate, not failed, reason, candidate_score=candidate_score,
                        checks=checks, **common)
