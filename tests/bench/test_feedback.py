"""The feedback benchmark: its accounting catches a lost, duplicated or unexpected row, and it
runs end to end on both answer-log backends (real service, real PostgreSQL) on a tiny state."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.bench import feedback, scale
from minutes.config import load_params
from minutes.platform import postgres_local

SENT = ["a", "b", "c", "d"]


def records(*statuses: int) -> list[dict]:
    return [{"i": i, "status": s} for i, s in enumerate(statuses)]


def test_tally_all_stored() -> None:
    t = feedback.tally(SENT, records(201, 201, 201, 201), ["a", "b", "c", "d"], 4)
    assert t["target_met"] and t["lost"] == t["duplicated"] == t["unexpected"] == 0 and t["stored"] == 4


@pytest.mark.parametrize("statuses, stored, counted, field, value", [
    ((201, 201, 201, 201), ["a", "b", "d"], 4, "lost", 1),  # answered 2xx, row missing
    ((201, 201, 201, 201), ["a", "b", "c", "d", "d"], 4, "duplicated", 1),
    ((201, 201, 503, 201), ["a", "b", "c", "d"], 3, "unexpected", 1),  # a row behind a 5xx
    ((201, 201, 503, 201), ["a", "b", "d"], 3, "5xx", 1),
    ((201, 201, 0, 201), ["a", "b", "d"], 3, "failed", 1),
    ((201, 201, 201, 201), ["a", "b", "c", "d"], 3, "counter_delta", 3),  # the counter missed one
])
def test_tally_catches_each_failure(statuses: tuple, stored: list[str], counted: int, field: str, value: int) -> None:
    t = feedback.tally(SENT, records(*statuses), stored, counted)
    assert t[field] == value and not t["target_met"]


@pytest.mark.skipif(not any((load_params("local").data.qmsum.path / "train").glob("*.json")),
                    reason="QMSum is not at data.qmsum.path")
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_bench_end_to_end(tmp_path_factory: pytest.TempPathFactory, backend: str) -> None:
    if backend == "postgres" and postgres_local.bin_dir() is None:
        pytest.fail(postgres_local.INSTALL_HINT)
    work, info = scale.ensure_state(200, tmp_path_factory.mktemp("feedback"), "flat")
    row = feedback._measure(backend, work, info["meetings"], posts=60, concurrency=8)
    assert row["backend"] == backend and row["target_met"], row
    assert row["stored"] == row["2xx"] == row["counter_delta"] == 60
    assert not list(Path(work, "serve").glob("bench-feedback-*"))  # the SQLite file is removed
