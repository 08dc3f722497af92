"""The canary's rules on hand-made figures: which look rolls back, which promotes, and why."""
from __future__ import annotations

import random

from minutes.config.serve import CanaryParams
from minutes.online.canary import ArmFigures, CanaryDecision, decide

C = CanaryParams(min_requests=50, min_fail_requests=10, min_feedback=10, alpha=0.05, early_alpha=0.001,
                 p95_ratio=1.5, p95_slack_ms=10.0)


def latencies(n: int, centre_ms: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [max(1.0, rng.gauss(centre_ms, centre_ms / 5)) for _ in range(n)]


def arm(name: str, requests: int, errors: int = 0, centre_ms: float = 40.0, up: int | None = 0,
        down: int | None = 0, version: str = "1", seed: int = 0) -> ArmFigures:
    return ArmFigures(name, version, requests, errors, latencies(requests - errors, centre_ms, seed), up, down)


def test_a_candidate_that_only_fails_is_rolled_back_at_the_first_look_with_enough_requests() -> None:
    prod = arm("production", 20)
    verdict, reason, final, checks = decide(C, prod, arm("candidate", 9, errors=9, version="2"))
    assert (verdict, final) == ("continue", False) and checks[0].passed is None
    verdict, reason, final, checks = decide(C, prod, arm("candidate", 10, errors=10, version="2"))
    assert (verdict, final) == ("rollback", True) and "5xx ratio failed" in reason
    assert checks[0].p_value < C.early_alpha and checks[0].passed is False


def test_one_error_in_ten_is_not_enough_to_roll_back_early() -> None:
    verdict, _, final, checks = decide(C, arm("production", 30), arm("candidate", 10, errors=1, version="2"))
    assert (verdict, final) == ("continue", False) and checks[0].p_value > C.early_alpha


def test_a_clean_candidate_is_promoted_at_min_requests() -> None:
    prod = arm("production", 200, up=40, down=10, seed=1)
    cand = arm("candidate", 50, up=12, down=3, version="2", seed=2)
    verdict, reason, final, checks = decide(C, prod, cand)
    assert (verdict, final) == ("promote", True), reason
    assert [c.passed for c in checks] == [True, True, True]


def test_a_slow_candidate_fails_the_latency_check() -> None:
    prod = arm("production", 200, centre_ms=40.0, seed=1)
    cand = arm("candidate", 60, centre_ms=120.0, version="2", seed=2)
    verdict, reason, _, checks = decide(C, prod, cand)
    assert verdict == "rollback" and "p95 latency" in reason and checks[1].p_value < C.alpha
    assert cand.p95_ms > prod.p95_ms * C.p95_ratio + C.p95_slack_ms


def test_a_disliked_candidate_is_rolled_back_on_feedback() -> None:
    prod = arm("production", 40, up=18, down=2)
    cand = arm("candidate", 20, up=1, down=11, version="2")
    verdict, reason, final, checks = decide(C, prod, cand)
    assert (verdict, final) == ("rollback", True) and "negative feedback" in reason
    assert checks[2].candidate > checks[2].production and checks[2].p_value < C.early_alpha


def test_feedback_is_not_compared_between_two_arms_of_one_version() -> None:
    prod = arm("production", 200, up=None, down=None)
    cand = arm("candidate", 50, up=None, down=None)
    verdict, _, _, checks = decide(C, prod, cand)
    assert verdict == "promote" and checks[2].passed is None and "same version" in checks[2].detail
    strict = C.model_copy(update={"require_feedback": True})
    verdict, reason, _, _ = decide(strict, prod, cand)
    assert verdict == "rollback" and "no feedback comparison" in reason


def test_a_phase_that_ends_short_of_min_requests_is_inconclusive() -> None:
    verdict, reason, final, _ = decide(C, arm("production", 80), arm("candidate", 20, version="2"), timed_out=True)
    assert (verdict, final) == ("rollback", True) and reason.startswith("inconclusive: 20 of 50")


def test_the_decision_table_has_a_row_per_check() -> None:
    prod, cand = arm("production", 100, up=20, down=5), arm("candidate", 50, up=10, down=2, version="2")
    verdict, reason, final, checks = decide(C, prod, cand)
    d = CanaryDecision(verdict, reason, final, 1, checks, prod.summary(), cand.summary(), 0.3, "p", 12.0)
    frame = d.to_frame()
    assert list(frame["check"]) == ["5xx ratio", "p95 latency (ms)", "negative feedback ratio"]
    assert set(frame["result"]) == {"pass"} and d.requests == 150 and d.candidate_requests == 50
    assert d.summary()["candidate.requests"] == 50 and d.summary()["production_version"] == "1"


# ------------------------------------------------------------------ a first rollout
# Production holds no version: it answers extractively in milliseconds, the candidate generates.
FIRST = C.model_copy(update={"first_rollout": C.first_rollout.model_copy(
    update={"min_requests": 40, "p95_slo_ms": 2000.0, "require_feedback": True})})


def extractive(requests: int, up: int = 0, down: int = 0) -> ArmFigures:
    return ArmFigures("production", None, requests, 0, latencies(requests, 15.0, 1), up, down)


def test_a_first_version_is_held_to_the_objective_not_to_extractive_speed() -> None:
    cand = arm("candidate", 40, centre_ms=1200.0, up=15, down=5, seed=2)
    verdict, reason, final, checks = decide(FIRST, extractive(800, up=300, down=100), cand)
    assert (verdict, final) == ("promote", True), reason
    latency = checks[1]
    assert latency.test == "objective, binomial one-sided" and latency.passed is True
    assert "2000 ms" in latency.threshold and latency.candidate > 50 * latency.production
    # the same candidate against a production model as fast as extractive answers fails
    model = arm("production", 800, centre_ms=15.0, up=300, down=100, seed=1)
    slow = arm("candidate", 50, centre_ms=1200.0, up=15, down=5, version="2", seed=2)
    verdict, reason, _, _ = decide(FIRST, model, slow)
    assert verdict == "rollback" and "p95 latency" in reason


def test_a_first_version_over_the_objective_is_rolled_back() -> None:
    cand = arm("candidate", 40, centre_ms=2600.0, up=15, down=5, seed=2)
    verdict, reason, _, checks = decide(FIRST, extractive(800, up=300, down=100), cand)
    assert verdict == "rollback" and "p95 latency (ms) failed" in reason
    assert checks[1].p_value < FIRST.alpha and checks[1].detail.endswith("over 2000 ms")


def test_a_first_version_waits_for_its_ratings_then_gives_up_at_the_timeout() -> None:
    prod, cand = extractive(800, up=300, down=100), arm("candidate", 45, centre_ms=900.0, up=4, down=2, seed=2)
    verdict, reason, final, checks = decide(FIRST, prod, cand)
    assert (verdict, final) == ("continue", False) and reason.startswith("waiting for ratings")
    assert checks[1].passed is True and checks[2].passed is None
    verdict, reason, final, _ = decide(FIRST, prod, cand, timed_out=True)
    assert (verdict, final) == ("rollback", True) and "no feedback comparison" in reason


def test_a_first_version_uses_the_first_rollout_sample_size() -> None:
    prod = extractive(800, up=300, down=100)
    verdict, reason, _, _ = decide(FIRST, prod, arm("candidate", 39, centre_ms=900.0, up=15, down=5, seed=2))
    assert verdict == "continue" and reason.startswith("39 of 40")
    # a later version (production holds one) keeps the phase's own min_requests
    verdict, reason, _, _ = decide(FIRST, arm("production", 800, up=300, down=100), arm("candidate", 40, version="2"))
    assert verdict == "continue" and reason.startswith("40 of 50")
