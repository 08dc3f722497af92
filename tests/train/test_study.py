"""A real study end to end: Ray Tune (Optuna + ASHA) on a tiny T5 base, a real MLflow server on a
free loopback port, a study killed mid-run (SIGKILL of its whole process group) and resumed,
the best adapter registered, then loaded back from `models:/<name>/<version>` and used."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from minutes import REPO_ROOT
from minutes.config import load_params
from minutes.platform.mlflow_server import stop_server
from tests.generate.fixtures import chunks, scripted_retrieve, tiny_t5, utterances, write_etl

pytestmark = pytest.mark.slow

MODEL = "tiny-gen-study"
MEETINGS = {"M1": "train", "M2": "train", "M3": "train", "M4": "val"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _overrides(tmp: Path, port: int) -> list[str]:
    return [f"work_dir={tmp / 'work'}", f"runs_dir={tmp / 'runs'}", f"mlflow.port={port}",
            f"mlflow.experiment=study-test", f"train.base_model={tmp / 't5'}", f"train.registered_model={MODEL}",
            "train.num_samples=2", "train.max_concurrent=2", "train.cpus_per_trial=1", "ray.num_cpus=2",
            "train.max_source_tokens=160", "train.max_target_tokens=24", "train.rouge_val_slice=2",
            "train.metric=val_loss", "train.search.lr=[0.01,0.03]", "train.search.lora_r=[4]",
            "train.search.lora_alpha=[8]", "train.search.epochs=[3]", "train.search.batch_size=[4]",
            "train.gen_batch_size=4",
            # a T5 base: the ci profile's causal target modules (q_proj, ...) do not exist in it
            "train.search.lora_targets=[]", "train.search.lora_dropout=[]"]


def _retrieve_and_chunks():
    by_meeting = {m: chunks(utterances(m, split=s)) for m, s in MEETINGS.items()}
    records = [c for cs in by_meeting.values() for c in cs]
    return scripted_retrieve({m: list(reversed(cs)) for m, cs in by_meeting.items()}), records


INTERRUPTED = textwrap.dedent("""
    import sys
    from minutes.config import load_params
    from minutes.train.tune import run_study
    from tests.train.test_study import _retrieve_and_chunks
    retrieve, records = _retrieve_and_chunks()
    run_study(load_params("ci", sys.argv[1:]), retrieve=retrieve, chunks=records)
    print("FINISHED")
""")


def _interrupt_after_first_checkpoint(overrides: list[str], train_dir: Path, timeout_s: float = 300) -> None:
    """Run the study in a child process and SIGKILL its process group (driver, Ray, trials) once
    the experiment state records a trial checkpoint: a crash, not a polite stop."""
    log = open(train_dir.parent / "interrupted.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, *overrides], cwd=REPO_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + timeout_s
    try:
        while time.time() < deadline:
            states = list((train_dir / "ray").glob("study-*/experiment_state-*.json"))
            if any("checkpoint_000000" in p.read_text(errors="ignore") for p in states):
                break
            assert proc.poll() is None, f"study ended before it could be interrupted: {log.name}"
            time.sleep(0.2)
        else:
            raise AssertionError(f"no checkpoint within {timeout_s} s: see {log.name}")
        assert proc.poll() is None, "the study finished before the kill: make it longer"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    from minutes.platform.ray_runtime import shutdown_ray
    from minutes.train.tune import run_study

    tmp = tmp_path_factory.mktemp("study")
    tiny_t5(tmp / "t5")
    overrides = _overrides(tmp, _free_port())
    params = load_params("ci", overrides)
    write_etl(params.work_dir, MEETINGS)
    try:
        _interrupt_after_first_checkpoint(overrides, params.stage_dir("train"))
        retrieve, records = _retrieve_and_chunks()
        result = run_study(params, retrieve=retrieve, chunks=records)
        yield params, result
    finally:
        shutdown_ray()
        stop_server(params)


def test_interrupted_study_resumes_and_registers(study) -> None:
    params, result = study
    assert result.resumed and not result.cached
    assert result.trials_run == 2 and result.errored == 0
    assert result.version == "1" and result.registered_model == MODEL
    assert 0 < result.trainable_fraction < 0.5
    assert set(result.history.columns) >= {"epoch", "train_loss", "val_loss", "val_rougeL"}
    # trials that ran to the end have one report per epoch; ASHA may have stopped the other
    for row in result.trials.to_dict("records"):
        assert 1 <= row["epochs_done"] <= 3
        assert row["stopped_early"] == (row["epochs_done"] < 3)
    assert (Path(result.model_dir) / "adapter_config.json").is_file()


def test_every_trial_is_an_mlflow_run_with_epoch_metrics(study) -> None:
    from mlflow import MlflowClient

    from minutes.platform.mlflow_server import tracking_uri
    from minutes.train.trial import TAG_STUDY

    params, result = study
    client = MlflowClient(tracking_uri(params))
    exp = client.get_experiment_by_name("study-test")
    runs = client.search_runs([exp.experiment_id], filter_string=f"tags.`{TAG_STUDY}` = '{result.study}'")
    assert len(runs) == 2
    assert all(r.info.status == "FINISHED" for r in runs)
    assert any(r.data.tags.get("resumed_from_epoch") for r in runs), "no trial continued from a checkpoint"
    for run in runs:
        assert run.data.params["lora_r"] == "4" and "lr" in run.data.params
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")]
        assert steps and max(steps) == int(run.data.tags["epochs_done"])
    assert any(k.startswith("system/") for r in runs for k in r.data.metrics)


def test_registered_version_is_tagged_without_alias(study) -> None:
    from mlflow import MlflowClient

    from minutes.platform.mlflow_server import tracking_uri

    params, result = study
    mv = MlflowClient(tracking_uri(params)).get_model_version(MODEL, result.version)
    assert mv.run_id == result.best_run_id
    assert {"data_hash", "git_commit", "params", "study", "trial_id"} <= set(mv.tags)
    assert '"registered_model": "tiny-gen-study"' in mv.tags["params"]
    assert not mv.aliases  # evaluation's gates own the aliases


def test_registered_version_loads_and_generates(study) -> None:
    import mlflow.pyfunc

    from minutes.generate.registry import load_registered
    from minutes.generate.prompts import build_prompt
    from minutes.platform.mlflow_server import tracking_uri

    params, result = study
    gen = load_registered(params, result.version)
    assert gen.version == result.version and gen.max_source_tokens == 160
    hits = []
    prompt = build_prompt("What opened the meeting?", hits, gen.tokenizer, gen.max_source_tokens)
    assert len(gen.generate([prompt], max_new_tokens=8)) == 1
    mlflow.set_tracking_uri(tracking_uri(params))
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}/{result.version}")
    out = model.predict([prompt, prompt])
    assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_finished_study_is_cached(study) -> None:
    from minutes.train.tune import run_study

    params, result = study
    again = run_study(params)  # no retriever needed: nothing is rebuilt
    assert again.cached and again.version == result.version and again.study == result.study


def test_a_stage_rerun_with_the_same_pairs_keeps_the_finished_study(study) -> None:
    """An input changed (here: an index appears) but retrieval, and so the pairs, did not: the
    stage runs again, builds the same pairs, and takes the finished study instead of retraining."""
    from mlflow import MlflowClient

    from minutes.platform.mlflow_server import tracking_uri
    from minutes.train.tune import run_study

    params, result = study
    (params.stage_dir("index") / "CURRENT").parent.mkdir(parents=True, exist_ok=True)
    (params.stage_dir("index") / "CURRENT").write_text("v-elsewhere\n")
    retrieve, records = _retrieve_and_chunks()
    again = run_study(params, retrieve=retrieve, chunks=records)
    assert again.cached and again.version == result.version and again.study == result.study
    manifest = (params.stage_dir("train") / "manifest.json").read_text()
    assert '"study_reused": true' in manifest
    versions = MlflowClient(tracking_uri(params)).search_model_versions(f"name='{MODEL}'")
    assert [v.version for v in versions] == [result.version], "nothing new was registered"
