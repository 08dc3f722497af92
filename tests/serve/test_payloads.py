"""/ask bodies for the load test and the demo: evaluation split first, each question once."""
from __future__ import annotations

import pytest

from minutes import schema
from minutes.config import load_params
from minutes.io import write_jsonl
from minutes.serve.payloads import load_payloads


def _q(qid: str, split: str, kind: str, text: str, meeting: str = "M1") -> dict:
    return {"query_id": qid, "meeting_id": meeting, "query": text, "kind": kind, "split": split}


def test_eval_split_specific_first_and_each_question_once(ci_overrides: list[str]) -> None:
    params = load_params("ci", ci_overrides + ["evaluate.split=val"])
    write_jsonl(params.stage_dir("etl") / schema.QUERIES, [
        _q("a", "train", "specific", "train question"),
        _q("b", "val", "general", "summarise the meeting", "M2"),
        _q("c", "val", "specific", "who decided?"),
        _q("d", "val", "specific", "who decided?", "M3"),  # same text: asked once
    ])
    bodies = load_payloads(params)
    assert [b["question"] for b in bodies] == ["who decided?", "summarise the meeting", "train question"]
    assert bodies[0]["meeting_id"] == "M1"
    assert load_payloads(params, n=1, within_meeting=False) == [{"question": "who decided?", "meeting_id": None}]


def test_no_queries_says_which_notebook(ci_overrides: list[str]) -> None:
    params = load_params("ci", ci_overrides)
    write_jsonl(params.stage_dir("etl") / schema.QUERIES, [])
    with pytest.raises(ValueError, match="run notebook 10_etl") as err:
        load_payloads(params)
    assert str(params.work_dir) not in str(err.value)
