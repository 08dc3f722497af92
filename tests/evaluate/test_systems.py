"""Which systems are scored, and the cached extractive predictions."""
from __future__ import annotations

import pytest

from minutes.config import load_params
from minutes.evaluate import systems
from minutes.io import write_jsonl

STATE = {"model": "m", "alias": "staging", "runs": {"1": "r1", "2": "r2"}}


@pytest.fixture
def params(ci_overrides):
    return load_params("ci", ci_overrides)


def test_plan_without_registered_versions(params) -> None:
    assert systems.plan(params, {**STATE, "latest": None, "promoted": None}) == [systems.EXTRACTIVE, systems.BASE]


def test_plan_latest_and_promoted(params) -> None:
    planned = systems.plan(params, {**STATE, "latest": "2", "promoted": "1"})
    assert [s.name for s in planned] == ["extractive", "base", "lora-v2", "lora-v1"]
    assert planned[2].label == "LoRA v2 (latest)" and planned[3].label == "LoRA v1 (staging)"
    assert planned[3].run_id == "r1"


def test_plan_latest_is_promoted(params) -> None:
    planned = systems.plan(params, {**STATE, "latest": "2", "promoted": "2"})
    assert [s.name for s in planned][2:] == ["lora-v2"] and "staging" in planned[2].label


def test_plan_can_skip_promoted(ci_overrides) -> None:
    p = load_params("ci", ci_overrides + ["evaluate.include_promoted=false"])
    assert [s.name for s in systems.plan(p, {**STATE, "latest": "2", "promoted": "1"})][2:] == ["lora-v2"]


def test_extractive_predictions_are_cached(params, tmp_path) -> None:
    contexts = [{"query_id": "M1/specific/0", "query": "rubber case", "kind": "specific",
                 "hits": [{"chunk_id": "M1#0", "meeting_id": "M1", "utt_start": 0, "utt_end": 0,
                           "text": "A: the case will be made of rubber for sure"}]}]
    path = tmp_path / "contexts.jsonl"
    write_jsonl(path, contexts)
    words = {"general": 50, "specific": 5}
    rows, cached = systems.predict(params, systems.EXTRACTIVE, contexts, path, tmp_path, words)
    assert not cached and rows[0]["prediction"] == "A: the case will be made ..."
    assert rows[0]["cited"] == ["M1#0"]
    again, cached = systems.predict(params, systems.EXTRACTIVE, contexts, path, tmp_path, words)
    assert cached and again == rows
    _, cached = systems.predict(params, systems.EXTRACTIVE, contexts, path, tmp_path, {**words, "specific": 6})
    assert not cached  # another budget is another prediction
