# %% [markdown]
# # 02 · Configure the nodes with Ansible
#
# Inventory from what was provisioned; playbooks for Docker, the NVIDIA container toolkit, the tracking platform (MLflow + Postgres + MinIO) and the Ray head. On local/ci the localhost parts run for real (MLflow on loopback).
#
# **Where it runs.** local/ci: Ansible against localhost (`ansible_connection=local`); the remote playbooks
# are only rendered. chameleon: Ansible over SSH to the KVM node and the GPU node provisioned by 00 and 01.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('02_configure', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. The inventory
#
# Generated from what 00 and 01 provisioned (`infra/kvm.json`, `infra/gpu.json`): group `kvm`/`platform` is the KVM node (MLflow, Postgres, MinIO, the API), group `gpu`/`ray_head` the bare-metal node. In plan mode the addresses are placeholders.

# %%
import pandas as pd
import yaml
from minutes.infra import configure, inventory as inv
overrides = configure.as_list(overrides)
inventory = configure.remote_inventory(params)
print(yaml.safe_dump(inventory, sort_keys=False))
pd.DataFrame(inv.hosts_table(inventory))

# %% [markdown]
# ## 2. The playbooks
#
# `preflight.yml` (Python, disk, GPUs), `base.yml` (Docker + compose; NVIDIA container toolkit on the GPU node), `platform.yml` (MLflow + Postgres + MinIO with docker compose, data on the attached volume), `ray.yml` (Ray head container on the GPU node). `ansible/site.yml` imports them all; its syntax is checked here.

# %%
display(pd.DataFrame(configure.plan_runs(params, overrides)))
pd.DataFrame([configure.syntax_check('site.yml', params)])

# %% [markdown]
# ## 3. Apply
#
# On Chameleon: every playbook against the inventory (written to `infra/inventory.yml` for manual runs). In plan mode: the localhost parts for real — the preflight, and the platform's local variant, which starts MLflow on loopback through `python -m minutes.platform.local_services start mlflow` (notebook 99 stops it).

# %%
if params.infra.mode == 'apply':
    results = configure.run_remote(params, overrides)
else:
    results = configure.run_local(params, overrides)
pd.DataFrame(configure.results_table(results))

# %% [markdown]
# ## 4. Reaching the private services
#
# Only SSH and the API face the internet (`infra.public_services`). MLflow, the MinIO console, Prometheus, Grafana and Postgres (KVM node), and Ray's client server and dashboard (GPU node, whose other Ray ports a firewall closes) listen on the node's loopback: open an SSH tunnel with the commands below, then use `http://127.0.0.1:<port>` (Ray: `ray.address=ray://127.0.0.1:10001`). MLflow asks for the user and password named in the next-to-last line, and the last line puts the answer log's URL (Postgres, for notebook 70) into the environment (neither password is printed here).

# %%
from minutes.infra import tunnels
print("\n".join(tunnels.ssh_tunnel_commands(params) + [tunnels.mlflow_login_hint(params),
                                                           tunnels.answer_log_url_hint(params)]))

# %%
ctx.record(infra_mode=params.infra.mode, playbooks_ok=all(r.ok for r in results),
           ansible_seconds=round(sum(r.seconds for r in results), 1))
