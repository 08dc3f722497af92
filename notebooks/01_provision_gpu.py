# %% [markdown]
# # 01 · Provision the bare-metal GPU node
#
# A bare-metal GPU lease (node type from params) and a server with the CUDA image, on the lease's reservation, with a floating IP. Optional.
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
ctx = nb.start('01_provision_gpu', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Is there a GPU stage?
#
# `infra.gpu.enabled` says whether this profile uses a GPU node; when it is false this notebook does nothing. The node type and site come from `infra.gpu` (e.g. `gpu_a100_pcie` at CHI@UC, `compute_liqid` at CHI@TACC).

# %%
import json
import pandas as pd
from minutes.infra import gpu, state, tables
print(f'mode={params.infra.mode} enabled={params.infra.gpu.enabled} site={params.infra.gpu.site} '
      f'node_type={params.infra.gpu.node_type} image={params.infra.gpu.image}')
pd.DataFrame(tables.credentials_status([params.infra.gpu.site]))

# %% [markdown]
# ## 2. The plan
#
# A bare-metal host lease (Blazar `physical:host` filtered on `$node_type`), a server on the `baremetal` flavor whose scheduler hint is the lease's **reservation id** (not the lease id), and a floating IP. Bare metal boots in 10-30 minutes: `infra.server_timeout_s`.

# %%
plan = gpu.plan(params)
print(json.dumps(plan, indent=2) if plan else 'no GPU stage in this profile: skipped')

# %%
pd.DataFrame(tables.reservations(plan)) if plan else None

# %%
pd.DataFrame(tables.request_fields(plan['server'])) if plan else None

# %% [markdown]
# ## 3. Apply
#
# Get-or-create lease, server and floating IP by exact name; ERROR states stop with the cloud's reason. In plan mode nothing is sent.

# %%
if params.infra.mode == 'apply':
    node, actions = gpu.apply(params)
    display(pd.DataFrame(actions.rows))
    print(json.dumps(node, indent=2))
else:
    node = None
    print('plan mode: nothing was sent' + (f'; the plan is in {state.plan_path(params, "gpu")}' if plan else ''))

# %%
ctx.record(infra_mode=params.infra.mode, gpu_enabled=params.infra.gpu.enabled,
           gpu_node_type=params.infra.gpu.node_type, gpu_floating_ip=(node or {}).get('floating_ip', ''))
