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


def test_each_task_is_generated_with_the_services_budget(params, tmp_path) -> None:
    """Questions get serve.answer_tokens, whole-meeting summaries serve.minutes_tokens: the gate
    scores answers as long as the service gives them (a real tiny generator, calls recorded)."""
    from minutes.generate.generator import Generator
    from tests.generate.fixtures import tiny_t5

    gen = Generator.from_dir(tiny_t5(tmp_path / "t5"), device="cpu")
    calls: list[tuple[int, int]] = []

    class Recording:
        tokenizer, max_source_tokens = gen.tokenizer, gen.max_source_tokens

        def generate(self, prompts, max_new_tokens=None, **kw):
            calls.append((len(prompts), max_new_tokens))
            return gen.generate(prompts, max_new_tokens, **kw)

    hit = {"chunk_id": "M1#0", "meeting_id": "M1", "utt_start": 0, "utt_end": 0, "speaker": "A", "start": 0.0,
           "text": "the case will be made of rubber"}
    contexts = [{"query_id": f"M1/{i}", "query": "what case?", "task": "minutes" if i % 3 == 0 else "answer",
                 "hits": [hit]} for i in range(6)]
    budgets = systems.token_budgets(params)
    assert budgets == {"answer": params.serve.answer_tokens, "minutes": params.serve.minutes_tokens}
    rows = systems.generator_predictions(Recording(), contexts, 2, budgets, {"M1/1": "done before"})
    assert [r["query_id"] for r in rows] == [c["query_id"] for c in contexts] and rows[1]["prediction"] == "done before"
    assert sorted(calls) == sorted([(2, budgets["minutes"]), (3, budgets["answer"])])
    override = load_params("ci", [f"work_dir={tmp_path}", "evaluate.max_new_tokens=5"])
    assert systems.token_budgets(override) == {"answer": 5, "minutes": 5}
