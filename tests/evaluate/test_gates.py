"""Gate logic as pure functions: pass, fail (baseline, regression), no previous version."""
from __future__ import annotations

import pytest

from minutes.config.evaluate import GateParams
from minutes.evaluate.gates import decide

GATES = GateParams(min_margin_over_extractive=1.0, max_drop_vs_promoted=0.5, metric="rougeLsum")


def test_passes_without_previous_version() -> None:
    d = decide("3", 20.0, extractive_score=18.5, gates=GATES)
    assert d.passed
    assert [c.name for c in d.checks] == ["beats_extractive"]
    assert d.checks[0].threshold == pytest.approx(19.5)
    assert "no version holds the alias yet" in d.reason


def test_fails_when_margin_over_extractive_is_not_met() -> None:
    d = decide("3", 19.4, extractive_score=18.5, gates=GATES)
    assert not d.passed
    assert "failed beats_extractive" in d.reason and "19.50" in d.reason


def test_margin_is_strict() -> None:
    assert not decide("3", 19.5, extractive_score=18.5, gates=GATES).passed


def test_fails_on_regression_against_promoted() -> None:
    d = decide("4", 21.0, extractive_score=18.0, gates=GATES, promoted_version="3", promoted_score=21.6)
    assert not d.passed
    assert [c.passed for c in d.checks] == [True, False]
    assert "failed no_regression" in d.reason and "v3" in d.reason
    assert "beats_extractive" not in d.reason


def test_passes_within_tolerance_of_promoted() -> None:
    d = decide("4", 21.1, extractive_score=18.0, gates=GATES, promoted_version="3", promoted_score=21.6)
    assert d.passed
    assert d.checks[1].threshold == pytest.approx(21.1)


def test_both_checks_can_fail() -> None:
    d = decide("4", 10.0, extractive_score=18.0, gates=GATES, promoted_version="3", promoted_score=25.0)
    assert not d.passed and d.reason.count("failed") == 2


def test_candidate_already_promoted_is_only_checked_against_baseline() -> None:
    d = decide("3", 20.0, extractive_score=18.0, gates=GATES, promoted_version="3", promoted_score=20.0)
    assert d.passed and len(d.checks) == 1
    assert "already holds the alias" in d.reason


def test_no_candidate_fails() -> None:
    d = decide(None, None, extractive_score=18.0, gates=GATES)
    assert not d.passed and d.reason == "no candidate model version is registered"


def test_promoted_without_score_is_an_error() -> None:
    with pytest.raises(ValueError, match="version 3 holds the alias but has no score"):
        decide("4", 20.0, extractive_score=18.0, gates=GATES, promoted_version="3")


def test_decision_serialises() -> None:
    d = decide("4", 21.1, extractive_score=18.0, gates=GATES, promoted_version="3", promoted_score=21.6)
    out = d.as_dict()
    assert out["passed"] is True and out["checks"][1]["name"] == "no_regression"
