"""40_evaluate end to end on a hand-made work dir: real index (packaged MiniLM + FAISS), a tiny
random T5 as the base, two LoRA versions registered in a real MLflow server on a free port, the
shipped ROUGE metric, gates, alias moves, the MLflow "evaluate" run, and the notebook itself
under papermill. Nothing here depends on the other stages having run."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes import REPO_ROOT, schema
from minutes.config import load_params
from minutes.evaluate import promotion, stage
from minutes.io import write_jsonl
from tests.generate.fixtures import chunks, queries, tiny_t5, utterances

pytestmark = pytest.mark.slow
MODEL = "evaltest-gen"


def _write_etl(work: Path) -> None:
    import pandas as pd

    meetings = {"T1": "train", "V1": "val", "V2": "val", "X1": "test"}
    utts, qs, cs = [], [], []
    for mid, split in meetings.items():
        u = utterances(mid, split=split)
        utts += u
        qs += queries(mid, split)
        cs += chunks(u)
    write_jsonl(work / "etl" / schema.UTTERANCES, utts)
    write_jsonl(work / "etl" / schema.QUERIES, qs)
    pd.DataFrame(cs).to_parquet(work / "etl" / schema.CHUNKS, index=False)


def _register_lora(params, base: Path, dest: Path, seed: int) -> str:
    """Save a LoRA adapter on the tiny T5 (random, untrained) and register it as a new version."""
    import mlflow
    import torch
    from transformers import AutoModelForSeq2SeqLM, ByT5Tokenizer

    from minutes.generate.base import write_model_meta
    from minutes.generate.registry import log_and_register
    from minutes.platform.mlflow_server import ensure_experiment
    from minutes.train.lora import LoraSettings, wrap

    torch.manual_seed(seed)
    model = wrap(AutoModelForSeq2SeqLM.from_pretrained(str(base)), LoraSettings(r=2, alpha=4))
    model.save_pretrained(str(dest))
    ByT5Tokenizer().save_pretrained(str(dest))
    write_model_meta(dest, {"base_model": str(base), "base_path": str(base), "seed": seed,
                            "max_source_tokens": 192, "max_target_tokens": 12,
                            "generation": {"num_beams": 1, "no_repeat_ngram_size": 3}})
    exp = ensure_experiment(params)
    with mlflow.start_run(experiment_id=exp) as run:
        run_id = run.info.run_id
    return log_and_register(params, dest, run_id, {"seed": seed})


@pytest.fixture(scope="module")
def setup(mlflow_overrides, tmp_path_factory: pytest.TempPathFactory):
    from minutes.index.build import build_index

    tmp = tmp_path_factory.mktemp("evaluate-e2e")
    base = tiny_t5(tmp / "tiny-t5")
    overrides = mlflow_overrides + [f"train.registered_model={MODEL}", f"train.base_model={base}",
                                    "train.max_target_tokens=12", "evaluate.max_queries=4", "evaluate.batch_size=4"]
    params = load_params("ci", overrides)
    _write_etl(params.work_dir)
    build_index(params, progress=False)
    v1 = _register_lora(params, base, tmp / "adapter-1", seed=1)
    v2 = _register_lora(params, base, tmp / "adapter-2", seed=2)
    promotion.promote(params, v1, "staging")
    return {"params": params, "overrides": overrides, "tmp": tmp, "versions": (v1, v2)}


def test_three_systems_gates_and_alias(setup) -> None:
    import mlflow

    params = setup["params"]
    v1, v2 = setup["versions"]
    prep = stage.prepare(params)
    assert len(prep.contexts) == 4 and {c["split"] for c in prep.contexts} == {"val"}
    results = stage.run_systems(params, prep)
    assert [s.name for s in results.systems] == ["extractive", "base", f"lora-v{v2}", f"lora-v{v1}"]
    assert all(len(rows) == 4 for rows in results.predictions.values())
    scores = stage.score(prep, results)
    assert set(scores["system"]) == set(results.predictions) and scores["rouge1"].between(0, 100).all()

    # Random tiny models cannot beat the extractive baseline: the alias stays on v1.
    decision = stage.decide(params, scores, results)
    assert not decision.passed and decision.candidate == v2 and decision.promoted_version == v1
    action = stage.apply(params, decision, prep.split)
    assert action["moved"] is False and promotion.alias_version(params, "staging") == v1

    # Lenient gates pass: staging moves to v2, the decision lands in MLflow, and rollback undoes it.
    lenient = params.model_copy(update={"evaluate": params.evaluate.model_copy(update={
        "gates": params.evaluate.gates.model_copy(update={"min_margin_over_extractive": -100.0,
                                                          "max_drop_vs_promoted": 100.0})})})
    decision = stage.decide(lenient, scores, results)
    action = stage.apply(lenient, decision, prep.split)
    assert decision.passed and action["moved"] is True and action["previous"] == v1
    assert promotion.alias_version(params, "staging") == v2
    figs = stage.figures(scores, decision, action, prep.split)
    metrics = stage.save_metrics(prep, results, scores, decision, action)
    run_id = stage.log_mlflow(params, prep, results, figs, decision, [metrics])
    run = mlflow.get_run(run_id)
    assert run.data.tags["gate.passed"] == "true" and "passed" in run.data.tags["gate.reason"]
    assert run.data.metrics["extractive.rougeLsum"] == pytest.approx(figs["extractive.rougeLsum"])
    assert mlflow.get_experiment(run.info.experiment_id).name == "evaluate"
    assert promotion.rollback(params, "staging")["version"] == v1

    # A second evaluation reuses every cached prediction.
    again = stage.run_systems(params, stage.prepare(params))
    assert all(again.cached.values())


def test_test_split_is_scored_but_never_promotes(setup) -> None:
    params = load_params("ci", setup["overrides"] + ["evaluate.split=test"])
    prep = stage.prepare(params)
    assert {c["split"] for c in prep.contexts} == {"test"} and prep.dir.name == "test"
    results = stage.run_systems(params, prep)
    scores = stage.score(prep, results)
    decision = stage.decide(params, scores, results)
    action = stage.apply(params, decision, "test")
    assert action["moved"] is False and "val only" in action["note"]


def test_notebook_runs_under_papermill(setup) -> None:
    import json

    import papermill as pm

    out = setup["tmp"] / "40_evaluate.out.ipynb"
    run_dir = setup["tmp"] / "run"
    pm.execute_notebook(str(REPO_ROOT / "notebooks" / "40_evaluate.ipynb"), str(out), kernel_name="python3",
                        parameters={"profile": "ci", "overrides": setup["overrides"], "run_dir": str(run_dir)},
                        cwd=str(REPO_ROOT), progress_bar=False)
    recorded = json.loads((run_dir / "metrics" / "40_evaluate.json").read_text())
    assert recorded["split"] == "val" and "gate_reason" in recorded and recorded["mlflow_run_id"]
    assert (setup["params"].stage_dir("evaluate") / "val" / "rouge_vs_published.png").is_file()
