"""The study: build pairs, search LoRA settings with Ray Tune, register the best in MLflow.

Optuna proposes configs, ASHA stops weak trials after each epoch, every trial checkpoints each
epoch. The study folder is named by a hash of the train parameters and the data, so re-running
with the same inputs resumes the interrupted study (finished trials are kept, unfinished ones
continue from their last checkpoint) instead of starting over. A finished study is cached by
the stage manifest: re-running the notebook loads it.

The study is keyed by what its trials consume, not by what made it: the pairs' content, the train
parameters and the training code (`minutes.train`, `minutes.generate`). When the stage runs again
because an input or the code around it changed (an index rebuilt, a retriever edited) but the
pairs come out the same, the finished study and its registered version are taken as they are:
retraining would only reproduce them, at half of a fresh pipeline's time on a 2-core machine.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from minutes import schema
from minutes.cache import Stage, code_version, hash_params, hash_path
from minutes.io import read_json, write_json, write_jsonl
from minutes.platform.ray_runtime import init_ray
from minutes.train import pairs as pairs_mod
from minutes.train.pairs import Retrieve
from minutes.train.trial import TAG_STUDY, TAG_TRIAL, TrialSetup, default_threads, run_trial

log = logging.getLogger(__name__)

STUDY_FILE = "study.json"
TRIALS_FILE = "trials.csv"
HISTORY_FILE = "history.csv"
BEST_DIR = "best"


@dataclass
class StudyResult:
    """What a study produced; the notebook shows it and evaluation / the service use the version."""

    study: str
    trials: Any  # pandas DataFrame: one row per trial (config, last metrics, status, early stop)
    history: Any  # pandas DataFrame: one row per trial and epoch (learning curves)
    best_config: dict[str, Any]
    best_trial_id: str
    best_run_id: str
    best_val_rougeL: float
    best_val_loss: float
    registered_model: str
    version: str
    model_dir: str
    metric: str
    trials_run: int
    stopped_early: int
    errored: int
    trainable_fraction: float
    seconds_per_step: float
    pairs: dict[str, int] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    resumed: bool = False
    cached: bool = False

    def summary(self) -> dict[str, Any]:
        """JSON-able figures (no tables)."""
        out = asdict(self)
        out.pop("trials"), out.pop("history")
        return out

    def save(self, directory: Path) -> None:
        self.trials.to_csv(directory / TRIALS_FILE, index=False)
        self.history.to_csv(directory / HISTORY_FILE, index=False)
        write_json(directory / STUDY_FILE, self.summary())

    @classmethod
    def load(cls, directory: Path) -> "StudyResult":
        import pandas as pd

        summary = read_json(directory / STUDY_FILE)
        return cls(trials=pd.read_csv(directory / TRIALS_FILE), history=pd.read_csv(directory / HISTORY_FILE),
                   **{**summary, "cached": True})


# ------------------------------------------------------------------------------ inputs
def stage_inputs(params: Any) -> dict[str, Path]:
    """What the study reads: ETL output, the index, and users' corrections once there are any."""
    from minutes.online.corrections import corrections_path

    files = pairs_mod.etl_files(params)
    index_current = params.stage_dir("index") / "CURRENT"
    out = {**files, "index": index_current}
    if params.retrain.max_correction_pairs > 0 and corrections_path(params).is_file():
        out["corrections"] = corrections_path(params)
    return out


def index_retrieve(params: Any) -> tuple[Retrieve, Any]:
    """The index's retriever as a `Retrieve` function, plus its chunk table."""
    from minutes.index.retriever import Retriever

    retriever = Retriever.open(params)

    def retrieve(questions: list[str], meeting_ids: list[str], k: int) -> list[list[schema.Hit]]:
        return retriever.search_many(questions, k, meeting_ids=meeting_ids,
                                     method=params.train.retrieval_method, progress=len(questions) > 50)

    return retrieve, retriever.chunks()



def build_study_pairs(params: Any, tokenizer: Any, retrieve: Retrieve | None = None,
                      chunks: Any = None) -> dict[str, list[pairs_mod.Pair]]:
    """Train pairs (gold chunks ensured) and val pairs (plain retrieval) from the ETL output."""
    tp = params.train
    files = pairs_mod.etl_files(params)
    if retrieve is None:
        retrieve, chunks = index_retrieve(params)
    if chunks is None:
        from minutes.index.chunks import load as load_chunks

        chunks = load_chunks(files["chunks"])
    records = chunks.to_dict("records") if hasattr(chunks, "to_dict") else list(chunks)
    by_meeting = pairs_mod.group_chunks(records)
    out: dict[str, list[pairs_mod.Pair]] = {}
    limits = {"train": tp.max_train_pairs, "val": tp.max_val_pairs}
    for split, ensure_gold in (("train", True), ("val", False)):
        queries = [q for q in pairs_mod.load_queries(files["queries"], [split]) if q["meeting_id"] in by_meeting]
        queries = pairs_mod.subsample(queries, limits[split], tp.seed)
        if not queries:
            raise ValueError(f"{files['queries']}: no {split} queries for indexed meetings; "
                             f"training needs both train and val queries (data.qmsum.splits)")
        utts = pairs_mod.load_utterance_lines(files["utterances"], {q["meeting_id"] for q in queries})
        out[split] = pairs_mod.build_pairs(queries, by_meeting, retrieve, tokenizer, tp.max_source_tokens,
                                           tp.max_target_tokens, tp.retrieved_chunks, ensure_gold, utts)
    out["train"] += correction_pairs(params, tokenizer, retrieve, by_meeting)
    return out


def correction_pairs(params: Any, tokenizer: Any, retrieve: Retrieve,
                     by_meeting: dict[str, list[Any]]) -> list[pairs_mod.Pair]:
    """Users' corrections (minutes.online.corrections) as extra train pairs, on top of the
    subsampled queries: question + retrieved context -> the corrected answer."""
    from minutes.online.corrections import correction_queries, corrections_path

    tp = params.train
    queries = correction_queries(corrections_path(params), by_meeting, params.retrain.max_correction_pairs)
    if not queries:
        return []
    return pairs_mod.build_pairs(queries, by_meeting, retrieve, tokenizer, tp.max_source_tokens,  # type: ignore[arg-type]
                                 tp.max_target_tokens, tp.retrieved_chunks, True)


# --------------------------------------------------------------------------- search space
def search_space(params: Any) -> dict[str, Any]:
    from ray import tune

    s = params.train.search
    lr = tune.loguniform(s.lr[0], s.lr[-1]) if s.lr[0] < s.lr[-1] else s.lr[0]
    space = {"lr": lr, "lora_r": tune.choice(s.lora_r), "lora_alpha": tune.choice(s.lora_alpha),
             "epochs": tune.choice(s.epochs), "batch_size": tune.choice(s.batch_size)}
    if s.lora_dropout:
        space["lora_dropout"] = tune.choice(s.lora_dropout)
    if s.lora_targets:  # comma-joined strings: Optuna's categorical takes only scalars
        space["lora_targets"] = tune.choice(s.lora_targets)
    return space


#: The packages whose code decides what a trial computes (its pairs come in as data).
TRIAL_CODE = ("minutes.train", "minutes.generate")


def pairs_hash(train_dir: Path) -> str:
    """Content hash of the pairs a study trains and validates on."""
    return hash_params({split: hash_path(train_dir / f"pairs_{split}.jsonl") for split in ("train", "val")})


def study_name(params: Any, data_hash: str) -> str:
    """Same parameters, data and training code -> same study folder (so it resumes, or is taken
    as finished); anything else -> a new one."""
    key = {"train": params.train.model_dump(mode="json"), "data": data_hash, "code": code_version(TRIAL_CODE)}
    return f"study-{hash_params(key)[:10]}"


def finished_study(params: Any, train_dir: Path, study: str) -> StudyResult | None:
    """The study already in `train_dir` when it is `study` and its version is still registered."""
    from minutes.generate.registry import resolve_version

    if not (train_dir / STUDY_FILE).is_file() or not (train_dir / BEST_DIR).is_dir():
        return None
    try:
        done = StudyResult.load(train_dir)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if done.study != study:
        return None
    try:
        resolve_version(params, done.version)
    except LookupError:
        log.warning("study %s: version %s is gone from the registry; training again", study, done.version)
        return None
    return done


def _mode(metric: str) -> str:
    return "min" if metric.endswith("loss") else "max"


def make_tuner(params: Any, setup: TrialSetup, storage: Path, name: str, resume: bool) -> tuple[Any, bool]:
    """A new Tuner, or the interrupted one restored from `storage/name`; (tuner, resumed)."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    tp = params.train
    trainable = tune.with_resources(tune.with_parameters(run_trial, setup=setup),
                                    {"cpu": tp.cpus_per_trial, "gpu": tp.gpus_per_trial})
    path = storage / name
    if resume and tune.Tuner.can_restore(str(path)):
        log.info("resuming study %s from %s", name, path)
        return tune.Tuner.restore(str(path), trainable, resume_unfinished=True, resume_errored=True), True
    if path.exists():
        shutil.rmtree(path)
    metric, mode = tp.metric, _mode(tp.metric)
    max_t = max(tp.search.epochs)
    tune_config = tune.TuneConfig(
        metric=metric, mode=mode, num_samples=tp.num_samples, max_concurrent_trials=tp.max_concurrent,
        search_alg=OptunaSearch(seed=tp.seed),
        scheduler=ASHAScheduler(time_attr="training_iteration", max_t=max_t,
                                grace_period=min(tp.asha_grace_period, max_t),
                                reduction_factor=tp.asha_reduction_factor),
        time_budget_s=tp.time_budget_s)
    run_config = tune.RunConfig(
        name=name, storage_path=str(storage), verbose=1,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_score_attribute=metric,
                                                checkpoint_score_order=mode),
        failure_config=tune.FailureConfig(max_failures=0))
    return tune.Tuner(trainable, param_space=search_space(params), tune_config=tune_config,
                      run_config=run_config), False


# ------------------------------------------------------------------------------ results
def _tables(results: Any, metric: str) -> tuple[Any, Any]:
    import pandas as pd

    rows, curves = [], []
    for r in results:
        cfg = r.config or {}
        trial_id = (r.metrics or {}).get("trial_id") or Path(r.path).name
        hist = r.metrics_dataframe if r.metrics_dataframe is not None else pd.DataFrame()
        epochs_done = int(hist["epoch"].max()) if "epoch" in hist and len(hist) else 0
        if "val_loss_start" in hist and len(hist):  # the untrained adapter: the curve's epoch 0
            curves.append({"trial_id": trial_id, "epoch": 0, "val_loss": hist["val_loss_start"].iloc[0]})
        for rec in hist.to_dict("records") if len(hist) else []:
            curves.append({"trial_id": trial_id, **{k: rec.get(k) for k in
                           ("epoch", "train_loss", "val_loss", "val_rougeL", "step_s", "epoch_s")}})
        best = None
        if metric in hist and len(hist):
            best = hist[metric].min() if _mode(metric) == "min" else hist[metric].max()
        rows.append({
            "trial_id": trial_id, "lr": cfg.get("lr"), "lora_r": cfg.get("lora_r"),
            "lora_alpha": cfg.get("lora_alpha"), "lora_dropout": cfg.get("lora_dropout"),
            "lora_targets": cfg.get("lora_targets"), "batch_size": cfg.get("batch_size"),
            "epochs": cfg.get("epochs"), "epochs_done": epochs_done,
            "val_loss": (r.metrics or {}).get("val_loss"), "val_rougeL": (r.metrics or {}).get("val_rougeL"),
            f"best_{metric}": best, "step_s": (r.metrics or {}).get("step_s"),
            "trainable_fraction": (r.metrics or {}).get("trainable_fraction"),
            "status": "ERROR" if r.error else "TERMINATED",
            "stopped_early": bool(not r.error and cfg.get("epochs") and epochs_done < int(cfg["epochs"])),
            "error": str(r.error)[:300] if r.error else "",
        })
    history = pd.DataFrame(curves)
    if len(history):
        history = history.sort_values(["trial_id", "epoch"]).reset_index(drop=True)
    return pd.DataFrame(rows), history


def _close_trial_runs(params: Any, experiment_id: str, study: str, trials: Any) -> dict[str, str]:
    """Give every trial's MLflow run the status Tune saw; trial_id -> run_id.

    A trial Tune stops (ASHA, or the last epoch under `max_t`) can be interrupted inside its run,
    which MLflow then records as FAILED or leaves RUNNING; a crashed driver leaves RUNNING too.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    runs = client.search_runs([experiment_id], filter_string=f"tags.`{TAG_STUDY}` = '{study}'", max_results=1000)
    status = {row["trial_id"]: row for row in trials.to_dict("records")}
    out = {}
    for run in runs:
        trial_id = run.data.tags.get(TAG_TRIAL, "")
        out[trial_id] = run.info.run_id
        row = status.get(trial_id)
        if row is None:
            continue
        client.set_tag(run.info.run_id, "stopped_early_by_asha", str(bool(row["stopped_early"])).lower())
        client.set_tag(run.info.run_id, "epochs_done", str(row["epochs_done"]))
        wanted = "FAILED" if row["status"] == "ERROR" else "FINISHED"
        if run.info.status != wanted:
            client.set_terminated(run.info.run_id, wanted, end_time=run.info.end_time or None)
    return out


def _register_best(params: Any, results: Any, setup: TrialSetup, train_dir: Path, study: str,
                   run_ids: dict[str, str], data_hash: str) -> tuple[Any, str, str, Path]:
    from minutes.generate.registry import copy_model_dir, log_and_register
    from minutes.runs import git_info

    tp = params.train
    metric, mode = tp.metric, _mode(tp.metric)
    best = results.get_best_result(metric, mode, scope="all", filter_nan_and_inf=True)
    checkpoint = best.get_best_checkpoint(metric, mode) or best.checkpoint
    if checkpoint is None:
        raise RuntimeError(f"study {study}: the best trial left no checkpoint (see {best.path})")
    trial_id = best.metrics.get("trial_id") or Path(best.path).name
    model_dir = copy_model_dir(Path(checkpoint.path), train_dir / BEST_DIR)
    git = git_info()
    tags = {"data_hash": data_hash, "git_commit": git.get("commit") or "unknown",
            "git_dirty": str(git.get("dirty")).lower(), "study": study, "trial_id": trial_id,
            "base_model": tp.base_model, "metric": metric,
            "params": json.dumps(tp.model_dump(mode="json"), sort_keys=True),
            "config": json.dumps(best.config, sort_keys=True, default=str)}
    version = log_and_register(params, model_dir, run_ids[trial_id], tags)
    return best, trial_id, version, model_dir


# --------------------------------------------------------------------------------- study
def run_study(params: Any, resume: bool = True, retrieve: Retrieve | None = None,
              chunks: Any = None, on_pairs: Callable[[dict[str, list]], None] | None = None) -> StudyResult:
    """Run (or resume, or load) the study of `params.train`; returns its result.

    `retrieve`/`chunks` replace the index's retriever (tests); by default
    `minutes.index.retriever.Retriever.open(params)` supplies both.
    """
    from minutes.generate.base import base_cache_dir, resolve_base
    from minutes.generate.family import config_family, load_tokenizer
    from minutes.generate.generator import generation_settings, pick_device
    from minutes.generate.registry import resolve_version
    from minutes.platform.mlflow_server import ensure_experiment, tracking_uri

    t_start = time.time()
    tp = params.train
    train_dir = params.stage_dir("train")
    inputs = stage_inputs(params)
    stage_params = {"train": tp.model_dump(mode="json"), "experiment": params.mlflow.experiment,
                    "tracking_uri": params.mlflow.tracking_uri, "port": params.mlflow.port}
    if "corrections" in inputs:  # only then: a study without corrections keeps its cache key
        stage_params["max_correction_pairs"] = params.retrain.max_correction_pairs
    stage = Stage(train_dir, stage_params, inputs={k: v for k, v in inputs.items() if v.exists()},
                  force=params.force or not resume)
    if stage.is_current() and (train_dir / STUDY_FILE).is_file():
        cached = StudyResult.load(train_dir)
        try:
            resolve_version(params, cached.version)
            return cached
        except LookupError:
            log.warning("cached study %s: version %s is gone from the registry; running again",
                        cached.study, cached.version)
    stage.begin()

    t0 = time.time()
    base_path = resolve_base(tp.base_model, base_cache_dir(params), tp.seed)
    tokenizer = load_tokenizer(base_path)
    pairs = build_study_pairs(params, tokenizer, retrieve, chunks)
    write_jsonl(train_dir / "pairs_train.jsonl", pairs["train"])
    write_jsonl(train_dir / "pairs_val.jsonl", pairs["val"])
    if on_pairs:
        on_pairs(pairs)
    data_hash = pairs_hash(train_dir)
    pairs_s = time.time() - t0
    outputs = [STUDY_FILE, TRIALS_FILE, HISTORY_FILE, BEST_DIR, "pairs_train.jsonl", "pairs_val.jsonl"]
    done = None if stage.force else finished_study(params, train_dir, study_name(params, data_hash))
    if done is not None:
        log.info("study %s: the same pairs, parameters and training code as the finished study; "
                 "version %s is kept", done.study, done.version)
        stage.finish(outputs=outputs, counts={"trials": done.trials_run, "stopped_early": done.stopped_early,
                                              **done.pairs},
                     timings={"pairs_s": round(pairs_s, 1)},
                     extra={"registered_model": tp.registered_model, "version": done.version,
                            "study_reused": True})
        return done

    experiment_id = ensure_experiment(params)
    uri = tracking_uri(params)
    device = "cuda" if tp.gpus_per_trial > 0 else pick_device("cpu")
    setup = TrialSetup(
        base_model=tp.base_model, base_path=base_path, family=config_family(base_path), train_pairs=list(pairs["train"]),
        val_pairs=list(pairs["val"]), rouge_slice=tp.rouge_val_slice, max_source_tokens=tp.max_source_tokens,
        max_target_tokens=tp.max_target_tokens, lora_dropout=tp.lora_dropout,
        lora_target_modules=tp.lora_target_modules, warmup_fraction=tp.warmup_fraction,
        weight_decay=tp.weight_decay, bf16=tp.bf16, device=device, threads=default_threads(tp.cpus_per_trial),
        seed=tp.seed, generation=generation_settings(tp), gen_batch_size=tp.gen_batch_size,
        tracking_uri=uri, experiment_id=experiment_id, study=study_name(params, data_hash))

    init_ray(params)
    t0 = time.time()
    tuner, resumed = make_tuner(params, setup, train_dir / "ray", setup.study, resume)
    results = tuner.fit()
    study_s = time.time() - t0
    trials, history = _tables(results, tp.metric)
    if trials.empty or (trials["status"] == "ERROR").all():
        errors = "; ".join(e for e in trials.get("error", []) if e) or "no trials ran"
        raise RuntimeError(f"study {setup.study}: every trial failed: {errors}")

    t0 = time.time()
    run_ids = _close_trial_runs(params, experiment_id, setup.study, trials)
    best, trial_id, version, model_dir = _register_best(params, results, setup, train_dir, setup.study,
                                                         run_ids, data_hash)
    register_s = time.time() - t0
    best_hist = history[(history["trial_id"] == trial_id) & (history["epoch"] > 0)]
    ok = trials[trials["status"] != "ERROR"]
    result = StudyResult(
        study=setup.study, trials=trials, history=history,
        best_config={k: best.config[k] for k in sorted(best.config)}, best_trial_id=trial_id,
        best_run_id=run_ids[trial_id], best_val_rougeL=float(best_hist["val_rougeL"].max()),
        best_val_loss=float(best_hist["val_loss"].min()), registered_model=tp.registered_model,
        version=version, model_dir=str(model_dir), metric=tp.metric, trials_run=int(len(trials)),
        stopped_early=int(ok["stopped_early"].sum()), errored=int((trials["status"] == "ERROR").sum()),
        trainable_fraction=float(ok["trainable_fraction"].dropna().iloc[0]),
        seconds_per_step=float(history["step_s"].median()),
        pairs={"train": len(pairs["train"]), "val": len(pairs["val"]),
               "train_gold_in_source": sum(p["gold_in_source"] for p in pairs["train"] if p["task"] == "answer"),
               "train_minutes": sum(p["task"] == "minutes" for p in pairs["train"]),
               "train_corrections": sum(p["query_id"].startswith("correction/") for p in pairs["train"])},
        durations={"pairs_s": round(pairs_s, 1), "study_s": round(study_s, 1),
                   "register_s": round(register_s, 1), "total_s": round(time.time() - t_start, 1)},
        resumed=resumed)
    result.save(train_dir)
    stage.finish(outputs=outputs,
                 counts={"trials": result.trials_run, "stopped_early": result.stopped_early, **result.pairs},
                 timings=result.durations, extra={"registered_model": tp.registered_model, "version": version})
    return result
