"""Generate notebooks 00, 01, 02 and 99 (provisioning, configuration, teardown).

    /root/.cache/minutes/venv-*/bin/python -m minutes.devtools.notebooks_infra
"""
from __future__ import annotations

from pathlib import Path

from minutes import REPO_ROOT
from minutes.devtools.nbwrite import write_notebook

MODES = ("**Where it runs.** On the `local` and `ci` profiles (`infra.mode: plan`) nothing is sent to "
         "Chameleon: the notebook renders the exact requests and saves them under "
         "`<work_dir>/infra/`. On the `chameleon` profile (`infra.mode: apply`) it runs on the Chameleon "
         "JupyterHub (or any machine with credentials in the environment) and creates the resources. "
         "Credentials are never parameters: they are read from the environment (see the README).")


def nb00() -> list[tuple[str, str]]:
    return [
        ("md", "## 1. Site, tool and credentials\n\n`infra.tool` picks who creates the VM: `python-chi` "
               "(default) or `terraform` (`tf/kvm`). The lease is always made through Blazar from Python "
               "(Terraform cannot make leases). The table says which environment variables would "
               "authenticate at the site, or which are missing; it never shows a value."),
        ("code", "import json\nimport pandas as pd\nfrom minutes.infra import kvm, requests, state, tables, terraform\n"
                 "print(f'mode={params.infra.mode} tool={params.infra.tool} site={params.infra.kvm.site} '\n"
                 "      f'flavor={params.infra.kvm.flavor} image={params.infra.kvm.image}')\n"
                 "pd.DataFrame(tables.credentials_status([params.infra.kvm.site]))"),
        ("md", "## 2. The plan: every request, in order\n\nA flavor lease (Blazar `flavor:instance`, "
               "starting now), then — once it is ACTIVE — the server on the reserved flavor "
               "`reservation:<reservation id>`, one security group per service port (exact names, one "
               "ingress rule each), a floating IP marked with our name in its description, the data volume, "
               "and a wait for SSH. IDs that need the cloud are shown as `<placeholders>`."),
        ("code", "plan = kvm.plan(params)\nprint(json.dumps(plan, indent=2))"),
        ("md", "The lease's reservations:"),
        ("code", "pd.DataFrame(tables.reservations(plan))"),
        ("md", "Security groups and their rules (all inbound traffic is closed on KVM@TACC until these are attached):"),
        ("code", "pd.DataFrame(tables.security_rules(plan))"),
        ("md", "The server create arguments (python-chi) or the Terraform variables (`tf/kvm`):"),
        ("code", "pd.DataFrame(tables.request_fields(plan.get('server') or plan['terraform_vars']))"),
        ("md", "## 3. The Terraform configuration, checked offline\n\nHCL parse of `tf/kvm` (resources, and "
               "the variables we pass against those it declares), `terraform fmt -check`, and `terraform "
               "validate` when a local mirror holds the OpenStack provider (providers cannot be downloaded here)."),
        ("code", "tf_vars = requests.terraform_vars(params, '<id of the reserved flavor>')\n"
                 "pd.DataFrame(tables.request_fields(tf_vars))"),
        ("md", "The checks (`infra.tool=terraform` writes these variables to `minutes.auto.tfvars.json` in a "
               "copy of `tf/kvm` under the work dir, where the state lives):"),
        ("code", "tf_check = terraform.check_config(params, tf_vars)\n"
                 "pd.DataFrame([{'check': k, 'result': v if isinstance(v, str) else ', '.join(v) or '(none)'}\n"
                 "              for k, v in tf_check.items()])"),
        ("md", "## 4. Apply\n\nGet-or-create each resource by its exact suffixed name (a re-run reuses what "
               "exists), wait for the lease, the server and SSH with the timeouts of `infra.*_timeout_s`; a "
               "lease or server in ERROR stops here with the cloud's reason. In plan mode nothing is sent."),
        ("code", "if params.infra.mode == 'apply':\n    node, actions = kvm.apply(params)\n"
                 "    display(pd.DataFrame(actions.rows))\n    print(json.dumps(node, indent=2))\n"
                 "else:\n    node = None\n    print(f'plan mode: nothing was sent; the plan is in {state.plan_path(params, \"kvm\")}')"),
        ("code", "ctx.record(infra_mode=params.infra.mode, infra_tool=params.infra.tool,\n"
                 "           kvm_security_rules=len(tables.security_rules(plan)),\n"
                 "           terraform_fmt_ok=tf_check['fmt'] == 'ok',\n"
                 "           terraform_vars_ok=not (tf_check['missing_variables'] or tf_check['unknown_variables']),\n"
                 "           kvm_floating_ip=(node or {}).get('floating_ip', ''))"),
    ]


def nb01() -> list[tuple[str, str]]:
    return [
        ("md", "## 1. Is there a GPU stage?\n\n`infra.gpu.enabled` says whether this profile uses a GPU node; "
               "when it is false this notebook does nothing. The node type and site come from `infra.gpu` "
               "(e.g. `gpu_a100_pcie` at CHI@UC, `compute_liqid` at CHI@TACC)."),
        ("code", "import json\nimport pandas as pd\nfrom minutes.infra import gpu, state, tables\n"
                 "print(f'mode={params.infra.mode} enabled={params.infra.gpu.enabled} site={params.infra.gpu.site} '\n"
                 "      f'node_type={params.infra.gpu.node_type} image={params.infra.gpu.image}')\n"
                 "pd.DataFrame(tables.credentials_status([params.infra.gpu.site]))"),
        ("md", "## 2. The plan\n\nA bare-metal host lease (Blazar `physical:host` filtered on `$node_type`), a "
               "server on the `baremetal` flavor whose scheduler hint is the lease's **reservation id** (not "
               "the lease id), and a floating IP. Bare metal boots in 10-30 minutes: `infra.server_timeout_s`."),
        ("code", "plan = gpu.plan(params)\nprint(json.dumps(plan, indent=2) if plan else 'no GPU stage in this profile: skipped')"),
        ("code", "pd.DataFrame(tables.reservations(plan)) if plan else None"),
        ("code", "pd.DataFrame(tables.request_fields(plan['server'])) if plan else None"),
        ("md", "## 3. Apply\n\nGet-or-create lease, server and floating IP by exact name; ERROR states stop "
               "with the cloud's reason. In plan mode nothing is sent."),
        ("code", "if params.infra.mode == 'apply':\n    node, actions = gpu.apply(params)\n"
                 "    display(pd.DataFrame(actions.rows))\n    print(json.dumps(node, indent=2))\n"
                 "else:\n    node = None\n    print('plan mode: nothing was sent' + (f'; the plan is in {state.plan_path(params, \"gpu\")}' if plan else ''))"),
        ("code", "ctx.record(infra_mode=params.infra.mode, gpu_enabled=params.infra.gpu.enabled,\n"
                 "           gpu_node_type=params.infra.gpu.node_type, gpu_floating_ip=(node or {}).get('floating_ip', ''))"),
    ]


def nb02() -> list[tuple[str, str]]:
    return [
        ("md", "## 1. The inventory\n\nGenerated from what 00 and 01 provisioned (`infra/kvm.json`, "
               "`infra/gpu.json`): group `kvm`/`platform` is the KVM node (MLflow, Postgres, MinIO, the API), "
               "group `gpu`/`ray_head` the bare-metal node. In plan mode the addresses are placeholders."),
        ("code", "import pandas as pd\nimport yaml\nfrom minutes.infra import configure, inventory as inv\n"
                 "overrides = configure.as_list(overrides)\ninventory = configure.remote_inventory(params)\n"
                 "print(yaml.safe_dump(inventory, sort_keys=False))\npd.DataFrame(inv.hosts_table(inventory))"),
        ("md", "## 2. The playbooks\n\n`preflight.yml` (Python, disk, GPUs), `base.yml` (Docker + compose; NVIDIA "
               "container toolkit on the GPU node), `platform.yml` (MLflow + Postgres + MinIO with docker "
               "compose, data on the attached volume), `ray.yml` (Ray head container on the GPU node). "
               "`ansible/site.yml` imports them all; its syntax is checked here."),
        ("code", "display(pd.DataFrame(configure.plan_runs(params, overrides)))\n"
                 "pd.DataFrame([configure.syntax_check('site.yml', params)])"),
        ("md", "## 3. Apply\n\nOn Chameleon: every playbook against the inventory (written to "
               "`infra/inventory.yml` for manual runs). In plan mode: the localhost parts for real — the "
               "preflight, and the platform's local variant, which starts MLflow on loopback through "
               "`python -m minutes.platform.local_services start mlflow` (notebook 99 stops it)."),
        ("code", "if params.infra.mode == 'apply':\n    results = configure.run_remote(params, overrides)\n"
                 "else:\n    results = configure.run_local(params, overrides)\n"
                 "pd.DataFrame(configure.results_table(results))"),
        ("code", "ctx.record(infra_mode=params.infra.mode, playbooks_ok=all(r.ok for r in results),\n"
                 "           ansible_seconds=round(sum(r.seconds for r in results), 1))"),
    ]


def nb99() -> list[tuple[str, str]]:
    return [
        ("md", "## 1. What will be deleted\n\nIn dependency order, per node (GPU first, then KVM): Terraform "
               "state (when `tf/kvm` made the VM), servers, our floating IPs, the data volume (only with "
               "`infra.delete_volume=true`), security groups, leases. Everything is found by its exact "
               "suffixed name, so running this twice deletes nothing the second time. Local services "
               "(MLflow, API) are always stopped."),
        ("code", "import pandas as pd\nfrom minutes.infra import teardown\npd.DataFrame(teardown.plan(params))"),
        ("md", "## 2. Tear down\n\nIn plan mode only the local services are stopped."),
        ("code", "actions = teardown.apply(params)\npd.DataFrame(actions.rows)"),
        ("code", "ctx.record(infra_mode=params.infra.mode,\n"
                 "           deleted=sum(1 for a in actions.rows if a['action'] == 'deleted'),\n"
                 "           local_services_stopped=sum(1 for a in actions.rows if a['action'] == 'stopped'))"),
    ]


NOTEBOOKS = {
    "00_provision_kvm": ("00 · Provision the KVM@TACC platform node",
                         "A flavor lease at KVM@TACC and a VM on the reserved flavor, with security groups for "
                         "the service ports, a floating IP and a data volume; or the same VM through Terraform "
                         f"(`tf/kvm`). Logic: `minutes.infra`.\n\n{MODES}", nb00),
    "01_provision_gpu": ("01 · Provision the bare-metal GPU node",
                         "A bare-metal GPU lease (node type from params) and a server with the CUDA image, on "
                         f"the lease's reservation, with a floating IP. Optional.\n\n{MODES}", nb01),
    "02_configure": ("02 · Configure the nodes with Ansible",
                     "Inventory from what was provisioned; playbooks for Docker, the NVIDIA container toolkit, "
                     "the tracking platform (MLflow + Postgres + MinIO) and the Ray head. On local/ci the "
                     "localhost parts run for real (MLflow on loopback).", nb02),
    "99_teardown": ("99 · Teardown",
                    "Deletes what 00 and 01 created (servers, floating IPs, leases, Terraform state) and "
                    f"stops the local services.\n\n{MODES}", nb99),
}


def write_all(notebooks_dir: Path = REPO_ROOT / "notebooks") -> list[Path]:
    """(Re)write the four notebooks; returns their paths."""
    notebooks_dir.mkdir(parents=True, exist_ok=True)
    return [write_notebook(notebooks_dir / f"{name}.ipynb", title, intro, cells())
            for name, (title, intro, cells) in NOTEBOOKS.items()]


if __name__ == "__main__":
    for p in write_all():
        print(p)
