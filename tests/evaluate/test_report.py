"""Tables, plots and the one-page quality view, on hand-made contexts scored with the real metric."""
from __future__ import annotations

import math

import matplotlib
import pytest

from minutes import schema
from minutes.config import load_params
from minutes.config.evaluate import GateParams
from minutes.evaluate import report, stage
from minutes.evaluate.gates import decide
from minutes.evaluate.scoring import load_rouge
from minutes.io import write_json

matplotlib.use("Agg")

CONTEXTS = [
    {"query_id": "A/specific/0", "meeting_id": "A", "domain": "Academic", "kind": "specific",
     "query": "What did they say about the recognizer?", "answer": "The recognizer is ready for testing.",
     "spans": [[0, 1]], "hits": [{"chunk_id": "A#0", "meeting_id": "A", "utt_start": 0, "utt_end": 3,
                                  "text": "B: the recognizer is ready"}]},
    {"query_id": "P/general/0", "meeting_id": "P", "domain": "Product", "kind": "general",
     "query": "Summarize the whole meeting.", "answer": "The team chose a rubber remote. Buttons are large.",
     "spans": [], "hits": [{"chunk_id": "P#0", "meeting_id": "P", "utt_start": 0, "utt_end": 2,
                            "text": "PM: rubber remote it is"}]},
]
PREDICTIONS = {
    "extractive": [{"query_id": "A/specific/0", "prediction": "B: the recognizer is ready"},
                   {"query_id": "P/general/0", "prediction": "PM: rubber remote it is"}],
    "lora-v1": [{"query_id": "A/specific/0", "prediction": "The recognizer is ready for testing."},
                {"query_id": "P/general/0", "prediction": "Nothing was decided."}],
}


@pytest.fixture(scope="module")
def scores():
    return report.scores_frame(CONTEXTS, PREDICTIONS, load_rouge(), {"lora-v1": "LoRA v1 (latest)"})


def test_scores_frame(scores) -> None:
    assert len(scores) == 4 and list(dict.fromkeys(scores["system"])) == ["extractive", "lora-v1"]
    exact = scores[(scores["system"] == "lora-v1") & (scores["kind"] == "specific")].iloc[0]
    assert exact["rouge1"] == pytest.approx(100.0) and exact["rougeLsum"] == pytest.approx(100.0)
    assert set(scores["label"]) == {"extractive", "LoRA v1 (latest)"}


def test_summary_and_slices(scores) -> None:
    summary = report.summary_table(scores)
    assert list(summary.index) == ["extractive", "lora-v1"]
    assert {"queries", "R-1", "R-2", "R-L (plain)", "R-Lsum"} <= set(summary.columns)
    by_domain = report.slice_table(scores, "domain")
    assert list(by_domain.columns) == ["Academic (n=1)", "Product (n=1)", "all"]
    assert by_domain.loc["lora-v1", "Academic (n=1)"] == pytest.approx(100.0)
    assert report.domain_kind_table(scores).loc[("lora-v1", "Academic"), "queries"] == 1


def test_published_figures_are_labelled_as_test(scores) -> None:
    table = report.published_comparison(scores, "val")
    assert table.loc["HMNet + gold spans", ["R-1", "R-2", "R-L"]].tolist() == [36.1, 11.4, 31.3]
    assert table.loc["Random", "figures"] == "published, QMSum test"
    assert table.loc["ours: LoRA v1 (latest)", "figures"] == "ours, val (n=2)"
    assert report.plot_comparison(table).axes[0].get_xlabel() == "ROUGE F1 (points)"
    assert len(report.plot_slices(scores).axes) == 2


def test_worst_queries_show_context_and_answer(scores) -> None:
    worst = report.worst_queries(scores, CONTEXTS, PREDICTIONS, "lora-v1", 1)
    assert list(worst.index) == ["P/general/0"]
    row = worst.iloc[0]
    assert row["answer"] == "Nothing was decided." and "[P#0] PM: rubber remote" in row["retrieved context"]
    assert row["gold recall of context"] is None  # minutes questions have no gold spans
    assert report.worst_queries(scores, CONTEXTS, PREDICTIONS, "lora-v1", 0).empty


def test_quality_page_pulls_wer_and_retrieval(scores, ci_overrides) -> None:
    params = load_params("ci", ci_overrides)
    missing = report.quality_page(params, scores, None)
    assert "notebook 10_etl" in missing.loc[("speech (ASR)", "wer"), "source"]
    write_json(params.stage_dir("etl") / schema.ASR_WER,
               {"backend": "faster-whisper", "meetings": [{"meeting_id": "S1", "wer": 0.2}],
                "overall": {"wer": 0.2, "rtf": 0.1, "ref_words": 50, "substitutions": 3}})
    write_json(params.stage_dir("index") / "retrieval_metrics.json",
               {"headline": {"dense_within_recall@10": 0.61, "dense_within_mrr": 0.4, "dense_corpus_mrr": 0.3}})
    gate = decide("1", 50.0, 40.0, GateParams())
    page = report.quality_page(params, scores, {**gate.as_dict(), "alias": "staging"})
    assert page.loc[("speech (ASR)", "wer"), "value"] == 0.2
    assert page.loc[("retrieval", "dense_within_recall@10"), "value"] == 0.61
    assert ("retrieval", "dense_corpus_mrr") not in page.index  # within-meeting figures only
    assert page.loc[("gate", "staging gate"), "value"] == "passed"
    assert ("answers", "lora-v1 R-Lsum") in page.index


def test_figures_and_json_safety(scores) -> None:
    gate = decide("1", 50.0, 40.0, GateParams())
    figs = stage.figures(scores, gate, {"alias": "staging", "version": "1", "moved": True}, "val")
    assert figs["queries"] == 2 and figs["gate_passed"] is True and figs["alias_moved"] is True
    assert figs["lora-v1.Academic.rougeLsum"] == pytest.approx(100.0)
    assert "extractive.general.rougeLsum" in figs
    assert stage._finite({"a": [math.nan, 1.5], "b": math.inf}) == {"a": [None, 1.5], "b": None}


def test_gate_table_says_what_happened_to_the_alias() -> None:
    failed = decide("2", 10.0, 18.0, GateParams())
    table = report.gate_table(failed, {"alias": "staging", "moved": False, "version": "1"})
    assert list(table.index) == ["beats_extractive", "verdict"]
    assert "stays on v1" in table.loc["verdict", "detail"] and not table.loc["verdict", "passed"]
    none = report.gate_table(decide(None, None, 18.0, GateParams()), {"alias": "staging", "moved": False})
    assert "service answers extractively" in none.loc["verdict", "detail"]
    moved = report.gate_table(decide("2", 30.0, 18.0, GateParams()), {"alias": "staging", "moved": True,
                                                                      "version": "2"})
    assert "moved to v2" in moved.loc["verdict", "detail"]


def test_side_by_side_and_csv(scores, tmp_path) -> None:
    table = report.side_by_side(scores, CONTEXTS, PREDICTIONS, ["P/general/0"])
    assert list(table.index.get_level_values("system")) == ["reference", "extractive", "lora-v1"]
    assert table.loc[("P/general/0", "lora-v1"), "text"] == "Nothing was decided."
    assert math.isnan(table.loc[("P/general/0", "reference"), "R-Lsum"])  # the reference has no score
    path = report.save_table(table, tmp_path / "t.csv")
    assert path.read_text().splitlines()[0] == "query_id,system,question,R-Lsum,text"
