# %% [markdown]
# # 99 · Teardown
#
# Deletes what 00 and 01 created (servers, floating IPs, leases, Terraform state) and stops the local services.
#
# **Where it runs.** On the `local` and `ci` profiles (`infra.mode: plan`) nothing is sent to Chameleon: the notebook renders the exact requests and saves them under `<work_dir>/infra/`. On the `chameleon` profile (`infra.mode: apply`) it runs on the Chameleon JupyterHub (or any machine with credentials in the environment) and creates the resources. Credentials are never parameters: they are read from the environment (see the README).

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('99_teardown', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. What will be deleted
#
# In dependency order, per node (GPU first, then KVM): Terraform state (when `tf/kvm` made the VM), servers, our floating IPs, the data volume (only with `infra.delete_volume=true`), security groups, leases. Everything is found by its exact suffixed name, so running this twice deletes nothing the second time. Local services are always stopped: the canary's router and candidate service first (70_online), then Prometheus, the API and MLflow.

# %%
import pandas as pd
from minutes.infra import teardown
pd.DataFrame(teardown.plan(params))

# %% [markdown]
# ## 2. Tear down
#
# In plan mode only the local services are stopped.

# %%
actions = teardown.apply(params)
pd.DataFrame(actions.rows)

# %%
ctx.record(infra_mode=params.infra.mode,
           deleted=sum(1 for a in actions.rows if a['action'] == 'deleted'),
           local_services_stopped=sum(1 for a in actions.rows if a['action'] == 'stopped'))
