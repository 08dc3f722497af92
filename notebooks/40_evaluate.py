# %% [markdown]
# # 40 · Evaluate: ROUGE, retrieval, WER, baselines, gates
#
# Scores the whole system on the **val** split (or `evaluate.split=test` when the test data is
# present): speech (ASR word error rate from 10_etl), retrieval (from 20_index) and answers.
# Three kinds of answerer read **the same retrieved context** for the same queries:
#
# 1. the **extractive baseline**: the best retrieved utterances, trimmed to the typical answer length;
# 2. the **base generator** without LoRA;
# 3. the **LoRA generator from the MLflow registry**: the latest version, and the version holding the
#    `staging` alias when that is another one.
#
# ROUGE-1/2/L/Lsum come from the `evaluate` library with the metric module this project ships
# (`lib/minutes/evaluate/metrics/rouge`, stemmed, R-Lsum on one sentence per line as QMSum papers
# report it). The gates from `params.evaluate.gates` then decide whether the latest version takes
# the `staging` alias. Promotion to `production` and rollback are separate, explicit steps (last
# section).
#
# **Where it runs.** Locally on CPU for the local/ci profiles (small sample, `evaluate.max_queries`);
# on the GPU node for the chameleon profile. Nothing here downloads a model.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('40_evaluate', profile, overrides, run_dir)
params = ctx.params

# %%
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import display
from minutes.evaluate import promotion, report, stage
pd.set_option("display.max_colwidth", 160)
out_dir = stage.stage_dir(params)
print(f"split={params.evaluate.split}  max_queries={params.evaluate.max_queries}  products in {out_dir}")

# %% [markdown]
# ## 1. Queries and their context
# A stable, hash-ordered sample of the split's queries. Specific questions get the retriever's
# top chunks **within the query's meeting**; "summarize the meeting" questions get chunks spread
# over the meeting (as in training). The contexts are computed once and cached, so every system is
# scored on identical evidence.

# %%
prep = stage.prepare(params)
print(f"{len(prep.contexts)} of {prep.split_queries} {prep.split} queries; retrieval {prep.retrieval}; "
      f"extractive answer length (words) {prep.words}; cached={prep.from_cache}")
prep.table()

# %% [markdown]
# ## 2. The systems answer
# The registry says which LoRA versions exist and who holds the alias. Generation runs in batches
# with a progress bar; each system's predictions are cached by (contexts, model version), so a
# re-run only generates what changed.

# %%
results = stage.run_systems(params, prep)
print("registry:", {k: v for k, v in results.registry.items() if k != "runs"})
results.table()

# %% [markdown]
# ## 3. ROUGE per system
# Points (F-measure x 100). `R-Lsum` is the variant QMSum papers call R-L; plain `R-L` (one LCS over
# the whole text) is kept for completeness. `groundedness` is the share of an answer's sentences that
# some utterance of its retrieved context supports (stemmed content-word overlap of at least 50 %,
# `minutes.answer.attribution`): 1.0 for the extractive baseline by construction; for a generator, how
# much of what it writes can be traced to the transcript.

# %%
scores = stage.score(prep, results)
summary = report.summary_table(scores)
summary

# %% [markdown]
# ## 4. Slices: per domain and per kind (specific questions vs minutes)

# %%
display(report.slice_table(scores, "domain"))
display(report.slice_table(scores, "kind"))
report.domain_kind_table(scores)

# %%
fig_slices = report.plot_slices(scores)
report.save_figure(fig_slices, out_dir / "rouge_slices.png")
plt.show()

# %% [markdown]
# ## 5. Beside the published QMSum figures
# **The published rows are QMSum *test* figures** (Zhong et al., 2021); **ours are on this
# evaluation's split** (val unless `evaluate.split=test`), on a small sample in the local/ci
# profiles and with small offline models, so the comparison is indicative only.

# %%
comparison = report.published_comparison(scores, prep.split)
display(comparison)
fig_cmp = report.plot_comparison(comparison)
report.save_figure(fig_cmp, out_dir / "rouge_vs_published.png")
plt.show()

# %% [markdown]
# ## 6. Gates
# The latest registered version must beat the extractive baseline by
# `evaluate.gates.min_margin_over_extractive` and fall at most `evaluate.gates.max_drop_vs_promoted`
# below the version holding the alias. On pass the alias moves to it; on fail it stays (and the
# service keeps the previous model, or answers extractively when no version holds the alias).
# Gates act on val only: a test run reports the decision without moving anything.

# %%
decision = stage.decide(params, scores, results)
action = stage.apply(params, decision, prep.split)
print("PASSED" if decision.passed else "FAILED", "-", decision.reason)
report.gate_table(decision, action)

# %% [markdown]
# ## 7. Worst queries, for error analysis
# The lowest-scoring queries of the candidate (or of the best system when nothing is registered),
# with the question, the reference, the answer, how much of the gold span the context held, and the
# start of each retrieved excerpt.

# %%
focus = next((s.name for s in results.systems if s.kind == "lora"), summary["R-Lsum"].idxmax())
worst = report.worst_queries(scores, prep.contexts, results.predictions, focus, params.evaluate.worst_n)
print(f"system: {results.labels[focus]}")
report.save_table(worst, out_dir / "worst_queries.csv")
worst

# %% [markdown]
# The same queries answered by every system, beside the reference:

# %%
report.side_by_side(scores, prep.contexts, results.predictions, list(worst.index[:3]))

# %% [markdown]
# ## 8. The whole system on one page
# Speech (WER of the ASR backend against reference transcripts, from 10_etl), retrieval (from
# 20_index, within-meeting), answers (this notebook) and the gate.

# %%
quality = report.quality_page(params, scores, {**action, "reason": decision.reason})
quality

# %% [markdown]
# ## 9. Record: metrics.json, run.json and MLflow
# One run in the MLflow experiment `evaluate.mlflow_experiment` holds the figures, the decision
# and its reason, and the plots; the same figures go to run.json.

# %%
figs = stage.figures(scores, decision, action, prep.split)
metrics_path = stage.save_metrics(prep, results, scores, decision, action, quality)
run_id = stage.log_mlflow(params, prep, results, figs, decision,
                          [metrics_path, out_dir / stage.SCORES, out_dir / "worst_queries.csv",
                           out_dir / "rouge_slices.png", out_dir / "rouge_vs_published.png"])
ctx.record(**figs, mlflow_run_id=run_id, cached=prep.from_cache and all(results.cached.values()))
print(f"MLflow run {run_id}; {metrics_path}")

# %% [markdown]
# ## 10. Explicit promotion and rollback
# Promotion to `production` is a separate step: 70_online's canary tries the staged version on a
# share of live traffic and promotes or rolls it back on its figures; by hand, as below; or at
# once with `evaluate.promote_to_production=true`.
# From a terminal:
#
# ```
# python -m minutes.evaluate.promotion status   --profile ci
# python -m minutes.evaluate.promotion promote  --profile ci --alias production --from staging
# python -m minutes.evaluate.promotion rollback --profile ci --alias production
# ```
# Every move records the previous holder in the registered model's `alias_history.<alias>` tag,
# so a rollback needs no version numbers. Current state:

# %%
pd.DataFrame(promotion.status(params)["aliases"]).T
