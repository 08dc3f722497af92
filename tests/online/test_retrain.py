"""Corrections from feedback become a recorded dataset version that joins the training pairs, and
the retraining trigger starts a real (papermill, archived) pipeline run of the stages it names."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from minutes.cache import hash_file
from minutes.config import load_params
from minutes.online import corrections, retrain
from minutes.online.answer_log import AnswerRecord, open_answer_log
from minutes.runs import load_run
from tests.generate.fixtures import scripted_retrieve, write_etl
from tests.nbfactory import write_notebook


@pytest.fixture
def params(ci_overrides: list[str]) -> Any:
    return load_params("ci", ci_overrides)


def answer(log: Any, question: str, meeting: str | None, retrieved: list[str], version: str | None = "1") -> str:
    return log.record(AnswerRecord(endpoint="ask", mode="generative", latency_ms=12.0, question=question,
                                   meeting_id=meeting, model_version=version, retrieved=retrieved, cited=retrieved[:1]))


def test_corrections_are_a_versioned_dataset(params: Any) -> None:
    log = open_answer_log(params)
    try:
        a = answer(log, "What opened the meeting?", "M1", ["M1#0000"])
        b = answer(log, "Who spoke about topic two?", None, ["M2#0002", "M1#0001"])
        log.add_feedback(a, "down", "It opened with utterance zero.")
        log.add_feedback(a, "down", "Utterance zero opened the meeting.")  # the newest one counts
        log.add_feedback(b, "up")  # no correction: not in the dataset
        first = corrections.export_corrections(params, log)
        path = corrections.corrections_path(params)
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert first["rows"] == 1 and rows[0]["correction"] == "Utterance zero opened the meeting."
        assert first["sha256"] == hash_file(path) and first["version"] == first["sha256"][:12]
        assert corrections.export_corrections(params, log) == first  # nothing new: the same version
        log.add_feedback(b, "down", "Bob did, in utterance seven.")
        second = corrections.export_corrections(params, log)
    finally:
        log.close()
    assert second["rows"] == 2 and second["version"] != first["version"]
    assert corrections.manifest(params) == second


def test_corrections_join_the_training_pairs(params: Any) -> None:
    from transformers import AutoTokenizer

    from minutes.models import packaged_embedding_path
    from minutes.train.tune import build_study_pairs, stage_inputs

    by_meeting = write_etl(params.work_dir, {"M1": "train", "M2": "val"})
    retrieve = scripted_retrieve(by_meeting)
    chunk_rows = [c for cs in by_meeting.values() for c in cs]
    tok = AutoTokenizer.from_pretrained(str(packaged_embedding_path()))
    before = build_study_pairs(params, tok, retrieve, chunk_rows)
    assert "corrections" not in stage_inputs(params)
    log = open_answer_log(params)
    try:
        a = answer(log, "What was said about topic one?", None, ["M2#0001"])  # meeting from its chunk
        log.add_feedback(a, "down", "Topic one came up in utterances three to five.")
        b = answer(log, "Where is the budget?", "gone", ["nowhere#0001"])  # no known meeting: left out
        log.add_feedback(b, "down", "Nowhere.")
        corrections.export_corrections(params, log)
    finally:
        log.close()
    after = build_study_pairs(params, tok, retrieve, chunk_rows)
    added = [p for p in after["train"] if p["query_id"].startswith("correction/")]
    assert len(after["train"]) == len(before["train"]) + 1 and after["val"] == before["val"]
    assert added[0]["meeting_id"] == "M2" and added[0]["target"].startswith("Topic one came up")
    assert "What was said about topic one?" in added[0]["source"] and added[0]["chunk_ids"]
    assert stage_inputs(params)["corrections"] == corrections.corrections_path(params)
    capped = load_params("ci", [f"work_dir={params.work_dir}", "retrain.max_correction_pairs=0"])
    assert len(build_study_pairs(capped, tok, retrieve, chunk_rows)["train"]) == len(before["train"])


@dataclass
class DriftOutput:
    alarm: bool
    statistic: float
    threshold: float


def test_the_trigger_fires_on_drift_or_bad_feedback(params: Any) -> None:
    r = params.retrain
    quiet = retrain.retrain_decision(params, drift=False, feedback={"up": 30, "down": 5})
    assert not quiet.retrain and quiet.reasons == [] and quiet.negative_ratio == pytest.approx(5 / 35)
    drifted = retrain.retrain_decision(params, drift=DriftOutput(True, 0.031, 0.01), feedback={"up": 30, "down": 5})
    assert drifted.retrain and drifted.reasons == ["drift alarm (statistic 0.031)"]
    assert drifted.to_frame().set_index("signal").loc["drift alarm", "threshold"] == 0.01
    assert retrain.retrain_decision(params, drift={"drift": True}).retrain
    down = int(r.min_feedback * r.max_negative_ratio) + 1
    bad = retrain.retrain_decision(params, drift=None, feedback={"up": r.min_feedback - down, "down": down})
    assert bad.retrain and bad.reasons[0].startswith(f"feedback: {down} of {r.min_feedback} ratings down")
    few = retrain.retrain_decision(params, feedback={"up": 0, "down": r.min_feedback - 1})
    assert not few.retrain and few.negative_ratio == 1.0  # all down, but too few to act on
    with pytest.raises(ValueError, match="alarm"):
        retrain.retrain_decision(params, drift={"statistic": 0.5})


def test_feedback_figures_come_from_the_answer_log(params: Any) -> None:
    log = open_answer_log(params)
    try:
        for i in range(4):
            log.add_feedback(answer(log, f"q{i}", "M1", ["M1#0000"], version=str(i % 2 + 1)), "down" if i else "up")
    finally:
        log.close()
    assert retrain.feedback_figures(params) == {"up": 1, "down": 3}
    assert not retrain.retrain_decision(params).retrain  # 4 ratings < min_feedback
    log = open_answer_log(params)
    try:
        unrated = answer(log, "q9", "M1", ["M1#0000"], version=None)
        by_version = log.ratings_by_version()
        assert by_version == {"1": {"answers": 2, "up": 1, "down": 1}, "2": {"answers": 2, "up": 0, "down": 2},
                              None: {"answers": 1, "up": 0, "down": 0}}
        assert log.ratings_by_version(since=log.answer(unrated)["created"]) == {None: {"answers": 1, "up": 0, "down": 0}}
    finally:
        log.close()


def test_the_trigger_runs_the_training_stages_through_the_pipeline(params: Any, ci_overrides: list[str],
                                                                   tmp_path: Path) -> None:
    """Stand-in notebooks 20, 30, 40, 50 (the real 30 and 40 need ETL, an index and minutes of
    training): the trigger must run exactly 30 and 40, archived, and 30 sees the corrections."""
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    seen = ("from minutes.online.corrections import manifest\n"
            "ctx.record(corrections_rows=(manifest(params) or {}).get('rows', 0))")
    for name in ("20_index", "30_train", "40_evaluate", "50_deploy"):
        write_notebook(nbdir / f"{name}.ipynb", name, "stand-in", [("code", seen)])
    log = open_answer_log(params)
    try:
        log.add_feedback(answer(log, "What opened it?", "M1", ["M1#0000"]), "down", "Utterance zero.")
    finally:
        log.close()
    runs = tmp_path / "runs"
    decision = retrain.retrain_if_needed(params, drift=True, feedback={"up": 0, "down": 0}, overrides=ci_overrides,
                                         runs_dir=runs, notebooks_dir=nbdir)
    assert decision.retrain and decision.run["status"] == "ok"
    assert decision.run["notebooks"] == ["30_train", "40_evaluate"]
    record = load_run(runs / decision.run["run_id"])
    assert [n["metrics"]["corrections_rows"] for n in record["notebooks"]] == [1, 1]
    assert (runs / decision.run["run_id"] / "30_train.html").is_file()
    assert decision.run["corrections_version"] == decision.corrections["version"]
    calm = retrain.retrain_if_needed(params, drift=False, feedback={"up": 50, "down": 0}, runs_dir=runs,
                                     notebooks_dir=nbdir)
    assert calm.run is None and len(list(runs.iterdir())) == 1
