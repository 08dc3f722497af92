# %% [markdown]
# # 50 · Deploy the service, smoke test, load test
#
# Deploys the question-answering service, checks it answers, and measures how fast.
#
# **Where it runs.** On the `local` and `ci` profiles (`infra.mode: plan`) the Ansible playbook
# `ansible/deploy_service.yml` runs against this machine: it starts the MLflow server if none
# answers, then the FastAPI service (`python -m minutes.serve`, uvicorn on loopback) as background
# processes with pid files and logs under `<work_dir>/serve/`, and waits on `/readyz`. On the
# `chameleon` profile (`infra.mode: apply`) the same playbook builds the API image on the KVM node
# and runs one container per registry alias (`serve.deployments`: production and staging) with
# docker compose, next to the platform's MLflow, Postgres and MinIO.
#
# The service stays up for 60_demo; notebook 99_teardown stops it (`local_services.stop_all`).

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('50_deploy', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Inputs
#
# The service answers from the ETL utterances (`etl/utterances.jsonl`, what answers cite) and the
# live FAISS index (`index/CURRENT`). The generator comes from the MLflow registry: the version
# holding the alias `serve.model_alias`; with none, answers are extractive (the best-supported
# utterances of the retrieved passages).

# %%
import pandas as pd
from minutes.serve import deploy, loadtest, report, smoke
from minutes.serve.client import Client
from minutes.infra.configure import as_list

pd.DataFrame(deploy.inputs(params))

# %% [markdown]
# ## 2. Deploy with Ansible
#
# `minutes.serve.deploy.deploy` runs the playbook through ansible-runner
# (`minutes.infra.ansible.run_playbook`). The ingest token (`serve.ingest_token_env`) is taken
# from this kernel's environment, else the one made for this work dir
# (`<work_dir>/.secrets/`, owner-only, `minutes.platform.tokens`); it reaches the service through
# the environment only, never the parameters or this report.

# %%
dep = deploy.deploy(params, as_list(overrides))
display(pd.DataFrame(dep.result.host_table()))
pd.DataFrame(dep.table())

# %% [markdown]
# On `chameleon` the compose file below is what the node runs; here it is rendered from the
# role's template so the plan can be read, and the playbook's compose mode is syntax-checked.

# %%
print(deploy.render_template('docker-compose.yml.j2', params))
print(deploy.syntax_check('compose'))

# %% [markdown]
# ## 3. Smoke test
#
# Every route once, and bad input (empty question, unknown meeting, k out of range, invalid JSON,
# ingest without a token) refused with the promised 4xx. The question is a real QMSum query of
# the evaluation split, asked within its meeting.

# %%
payloads = loadtest.suite_payloads(params)
sample = payloads[-1]  # the load test's warm-up asks it again; its measured requests do not
rows = []
for name, base in dep.urls.items():  # one deployment locally; production and staging on Chameleon
    Client(base).wait_ready(300)
    rows += [{'deployment': name, **r} for r in smoke.smoke_test(Client(base), sample['question'], sample['meeting_id'])]
smoke.check(rows)
url = dep.urls.get(params.serve.model_alias) or next(iter(dep.urls.values()))
ready = Client(url).readyz()
print(ready)
pd.DataFrame(rows)

# %% [markdown]
# ## 4. Load test
#
# `serve.loadtest.requests` requests to `/ask` at `serve.loadtest.concurrency` (one keep-alive
# connection per worker thread, latency measured at the client), each a different real QMSum
# question asked within its meeting while the data has enough of them (`repeated_questions`
# counts the rest: the service remembers question vectors, so a repeat skips the embedding).
# First forced extractive, then, when a model holds the alias, forced generative
# (`generative_requests` at `generative_concurrency`). Targets for extractive `/ask` on a 2-core
# machine: p95 ≤ 50 ms, ≥ 50 requests/s, no errors. Questions are embedded by
# `serve.query_backend` (local: the int8 export of the index's model, see notebook 20).

# %%
reports = loadtest.run_suite(params, url, payloads, generative=ready['mode'] == 'generative')
if ready['mode'] != 'generative':
    print(f"generative: no version holds {params.serve.model_alias!r}, so this deployment answers extractively; "
          "`python -m minutes.bench serve` measures the newest registered version")
pd.DataFrame([r.summary() for r in reports]).set_index('test')

# %%
pd.DataFrame(loadtest.targets(params, reports[0].summary()))

# %%
fig = loadtest.plot(reports)

# %% [markdown]
# Minutes of a few meetings, each asked cold (the service caches minutes per meeting and model
# version): seconds per meeting, and how many sections the model wrote (the rest fall back to
# extraction, with the reason).

# %%
minutes_rows = loadtest.minutes_timings(url, [m['meeting_id'] for m in Client(url).meetings()[:3]])
pd.DataFrame(minutes_rows)

# %% [markdown]
# ## 5. Record
#
# `loadtest.json` and `loadtest.png` in `<work_dir>/serve/`, the figures in this run's `run.json`,
# and a run in the MLflow experiment `serve.mlflow_experiment`.

# %%
figs = loadtest.figures(reports)
paths = report.save(params, reports, fig, {'url': url, 'ready': ready})
run_id = report.log_mlflow(params, figs, paths, {'mode': ready['mode'], 'alias': params.serve.model_alias})
ctx.record(**figs, **loadtest.minutes_figures(minutes_rows), serve_url=url, serve_mode=ready['mode'], model_version=ready['model_version'],
           index_chunks=ready['index_chunks'], smoke_checks=len(rows), mlflow_run_id=run_id)
print(f'The service is running at {url}/ (API docs at {url}/docs); notebook 99_teardown stops it.')
