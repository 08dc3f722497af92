# %% [markdown]
# # 00 · Provision the KVM@TACC platform node
#
# A flavor lease at KVM@TACC and a VM on the reserved flavor, with security groups for the service ports, a floating IP and a data volume; or the same VM through Terraform (`tf/kvm`). Logic: `minutes.infra`.
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
ctx = nb.start('00_provision_kvm', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Site, tool and credentials
#
# `infra.tool` picks who creates the VM: `python-chi` (default) or `terraform` (`tf/kvm`). The lease is always made through Blazar from Python (Terraform cannot make leases). The table says which environment variables would authenticate at the site, or which are missing; it never shows a value.

# %%
import json
import pandas as pd
from minutes.infra import cloud_requests, kvm, state, tables, terraform
print(f'mode={params.infra.mode} tool={params.infra.tool} site={params.infra.kvm.site} '
      f'flavor={params.infra.kvm.flavor} image={params.infra.kvm.image}')
pd.DataFrame(tables.credentials_status([params.infra.kvm.site]))

# %% [markdown]
# ## 2. The plan: every request, in order
#
# A flavor lease (Blazar `flavor:instance`, starting now), then — once it is ACTIVE — the server on the reserved flavor `reservation:<reservation id>`, one security group per service port (exact names, one ingress rule each), a floating IP marked with our name in its description, the data volume, and a wait for SSH. IDs that need the cloud are shown as `<placeholders>`.

# %%
plan = kvm.plan(params)
print(json.dumps(plan, indent=2))

# %% [markdown]
# The lease's reservations:

# %%
pd.DataFrame(tables.reservations(plan))

# %% [markdown]
# Security groups and their rules (all inbound traffic is closed on KVM@TACC until these are attached):

# %%
pd.DataFrame(tables.security_rules(plan))

# %% [markdown]
# The server create arguments (python-chi) or the Terraform variables (`tf/kvm`):

# %%
pd.DataFrame(tables.request_fields(plan.get('server') or plan['terraform_vars']))

# %% [markdown]
# ## 3. The Terraform configuration, checked offline
#
# HCL parse of `tf/kvm` (resources, and the variables we pass against those it declares), `terraform fmt -check`, and `terraform validate` when a local mirror holds the OpenStack provider (providers cannot be downloaded here).

# %%
tf_vars = cloud_requests.terraform_vars(params, '<id of the reserved flavor>')
pd.DataFrame(tables.request_fields(tf_vars))

# %% [markdown]
# The checks (`infra.tool=terraform` writes these variables to `minutes.auto.tfvars.json` in a copy of `tf/kvm` under the work dir, where the state lives):

# %%
tf_check = terraform.check_config(params, tf_vars)
pd.DataFrame([{'check': k, 'result': v if isinstance(v, str) else ', '.join(v) or '(none)'}
              for k, v in tf_check.items()])

# %% [markdown]
# ## 4. Apply
#
# Get-or-create each resource by its exact suffixed name (a re-run reuses what exists), wait for the lease, the server and SSH with the timeouts of `infra.*_timeout_s`; a lease or server in ERROR stops here with the cloud's reason. In plan mode nothing is sent.

# %%
if params.infra.mode == 'apply':
    node, actions = kvm.apply(params)
    display(pd.DataFrame(actions.rows))
    print(json.dumps(node, indent=2))
else:
    node = None
    print(f'plan mode: nothing was sent; the plan is in {state.plan_path(params, "kvm")}')

# %%
ctx.record(infra_mode=params.infra.mode, infra_tool=params.infra.tool,
           kvm_security_rules=len(tables.security_rules(plan)),
           terraform_fmt_ok=tf_check['fmt'] == 'ok',
           terraform_vars_ok=not (tf_check['missing_variables'] or tf_check['unknown_variables']),
           kvm_floating_ip=(node or {}).get('floating_ip', ''))
