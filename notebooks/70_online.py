# %% [markdown]
# # 70 · Online: simulated traffic, monitoring, drift, retraining, canary
#
# After deployment: simulated users ask the running service questions it was not tuned on and
# rate its answers; a real Prometheus scrapes the service and evaluates the repository's rules;
# the panels of the Grafana dashboard are drawn from Prometheus' series; drift of the questions
# is read per traffic phase; the retraining trigger is evaluated; a model version waiting in
# staging is tried as a canary and promoted or rolled back.
#
# **Where it runs.** On the `local` and `ci` profiles (`infra.mode: plan`) everything is on this
# machine, on loopback: the service 50_deploy left running (restarted if its parameters or code
# changed), and Prometheus from the Debian package (`monitor.prometheus_port`, TSDB under
# `<work_dir>/prometheus/`), started here and stopped by 99_teardown. On the `chameleon` profile
# the platform's Prometheus (`monitor.prometheus_url`) is queried instead.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('70_online', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. The service and Prometheus
#
# The service is started or kept (`minutes.platform.local_services`), then Prometheus, whose
# scrape targets (`<work_dir>/prometheus/targets.json`, one per deployment) and rules
# (`ansible/roles/platform/files/prometheus/*-rules.yml`, checked by promtool in the tests) are
# written first. The tables show the scrape targets' health and the loaded rules.

# %%
import time
import pandas as pd
from minutes.infra.configure import as_list
from minutes.online import dashboard, simulate
from minutes.online.prometheus_query import PrometheusClient
from minutes.platform import local_services, prometheus_server
from minutes.serve.client import Client

url = f'http://{params.serve.host}:{params.serve.port}'
if params.infra.mode == 'plan':
    print(local_services.start('api', params, as_list(overrides)))
Client(url).wait_ready(300)
prom = PrometheusClient(prometheus_server.ensure_server(params))
prom.wait_for('up{job="minutes"} == 1', timeout=60)
display(prom.targets()[['deployment', 'scrape_url', 'health', 'last_error']])
prom.rules()

# %% [markdown]
# ## 2. Simulated traffic
#
# `monitor.simulate.phases`, one after the other: evaluation-split questions outside the
# held-back domain (`monitor.held_back_domain`), then that domain's questions, then off-topic
# ones, each phase with Poisson arrivals at its rate (`python -m minutes.online simulate` runs
# the same from a shell). A share of the users (`feedback_share`) rate their answer through
# `POST /feedback`: up when ROUGE-L against the gold answer, plus seeded noise, reaches
# `rating_threshold`. Target on local: the configured rate held (≥ 20 requests/s) with no 5xx.

# %%
cfg = params.monitor.simulate
result = simulate.simulate(url, simulate.pools_for(params), cfg)
summary = result.summary()
summary

# %% [markdown]
# ## 3. Monitoring
#
# The dashboard's panels (`minutes-dashboard.json` beside the rules; Grafana shows them on the
# platform) drawn from Prometheus' range queries over the simulation, phases shaded. Series are
# the recording rules, by model version ("none": extractive answers): p95 latency of `/ask`,
# 5xx ratio, share of thumbs-down, and the drift statistic of the last window of questions.

# %%
time.sleep(3 * params.monitor.scrape_interval_s)  # the last scrapes and rule evaluations
spans = result.spans()
step = max(params.monitor.scrape_interval_s, 1.0)
series = dashboard.panel_series(prom, spans['start'].min() - 10, spans['end'].max() + 5, step)
fig = dashboard.plot_panels(series, spans)

# %% [markdown]
# ## 4. Drift
#
# The service tests the last `monitor.drift.window` questions every `monitor.drift.every`:
# MMD of their embeddings against the training questions (a permutation test), and KS of their
# retrieval confidence (top-1 cosine against the index). Per phase, the share of scrapes with
# the alarm raised (p-value below `monitor.drift.alpha`) and the median p-value. Windows at a
# phase's start still hold the previous phase's questions. On `ci` the reference is the questions
# of a handful of training meetings, so in-domain windows (other meetings) alarm too; on `local`
# (80 meetings) they stay below the alarm.

# %%
alarms = dashboard.alarms_by_phase(prom, spans, step)
alarms

# %% [markdown]
# ## 5. Retraining trigger
#
# The rule (`minutes.online.retrain`): retrain when the drift alarm is up (the service's last
# window of questions, as Prometheus scraped it), or when at least `retrain.min_feedback` ratings
# of the last `retrain.window_s` seconds are `retrain.max_negative_ratio` or more "down" (read
# from the answer log). The table shows each signal against its threshold. Acting on it exports
# the users' corrections as a new dataset version (which 30_train adds to its training pairs) and
# runs 30_train → 40_evaluate through the pipeline runner, archived like any run; the new version
# then goes through 40's gates. This notebook acts only with `retrain.act=true`; after the
# off-topic phase above the alarm is normally up, so the table says "retrain".

# %%
from minutes.online import retrain

drift_now = retrain.drift_from_prometheus(prom)
if params.retrain.act:
    decision = retrain.retrain_if_needed(params, drift_now, overrides=as_list(overrides))
else:
    decision = retrain.retrain_decision(params, drift_now)
print('retrain:', decision.retrain, '-', '; '.join(decision.reasons) or 'no signal fired')
decision.to_frame()

# %% [markdown]
# ## 6. Canary
#
# A version waiting at `serve.canary.candidate_alias` is tried on a share of live traffic behind
# a weighted router (`minutes.online.canary`), looked at every `serve.canary.poll_s`, then
# promoted (the production alias moves, the candidate stops) or rolled back (all traffic back to
# production at once, the candidate alias given back), each decision an MLflow run with its
# figures. The canary's users (`monitor.canary_traffic`) ask in mode `auto`, so each arm answers
# as it serves.
#
# - **A first rollout** (nothing in production yet, so production answers extractively: the
#   state after 40_evaluate's gate put the first model in staging) takes
#   `serve.canary.first_rollout.weight` of the traffic. Its 5xx ratio and thumbs-down share are
#   compared with the extractive answers' (one-sided Fisher exact tests); its latency is held to
#   the objective `first_rollout.p95_slo_ms` (one-sided binomial test that more than 5 % of its
#   answers exceed it), since a generator cannot be as fast as an extractive answer.
# - **A later version** (say a retraining run's, past 40's gates) takes `serve.canary.weight` and
#   is compared with production's model on 5xx ratio, thumbs-down share and p95 latency
#   (production's times a tolerance, confirmed by a Mann-Whitney U test).
#
# Locally the router and both services are processes on loopback; on chameleon they are the
# compose containers 50_deploy started (`router`, `api-production`, `api-staging`), the router
# reached through 02's SSH tunnel. Either way the weight moves only through the router's
# `PUT /router/state`, with the token in `serve.canary.control_token_env`.

# %%
from minutes.online import canary

cp = params.serve.canary
versions = {alias: canary.version_of(params, alias) for alias in (cp.production_alias, cp.candidate_alias)}
display(pd.DataFrame([{'alias': a, 'version': v or '- (extractive answers)'} for a, v in versions.items()]))
canary_decision = None
if versions[cp.candidate_alias] not in (None, versions[cp.production_alias]):
    dep = canary.start_canary(params, as_list(overrides))
    display(dep.to_frame())
    canary_decision = canary.run_canary_phase(params, dep, lambda router_url, stop: simulate.simulate(
        router_url, simulate.pools_for(params), params.monitor.canary_traffic, stop=stop))
    display(canary_decision.to_frame())
    print(canary_decision.verdict, '-', canary_decision.reason)
    print('actions:', canary_decision.actions, '| MLflow run', canary_decision.mlflow_run_id)
    canary.stop_canary(params, as_list(overrides))  # the API back as 50_deploy left it
else:
    print('no canary: no candidate version, or the candidate is already in production')

# %% [markdown]
# ## 7. Record
#
# The simulator's figures, the drift alarm shares and the canary's decision in this run's `run.json`.

# %%
mmd = alarms[alarms['test'] == 'mmd'].set_index('phase')['alarm_share'] if len(alarms) else pd.Series(dtype=float)
in_domain = [p for p in mmd.index if p.endswith('in-domain')]
ctx.record(sim_requests=int(summary['sent'].sum()), sim_5xx=int(summary['5xx'].sum()),
           sim_min_achieved_rps=float(summary['achieved_rps'].min()),
           sim_p95_ms=float(summary['p95_ms'].max()), sim_feedback=int(summary['feedback_2xx'].sum()),
           drift_alarm_in_domain=float(mmd[in_domain].mean()) if in_domain else None,
           drift_alarm_drifted=float(mmd.drop(in_domain).mean()) if len(mmd.drop(in_domain)) else None,
           retrain_fired=bool(decision.retrain), canary_verdict=canary_decision.verdict if canary_decision else None,
           **({f'canary.{k}': v for k, v in canary_decision.summary().items()} if canary_decision else {}))
prom.close()
