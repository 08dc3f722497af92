"""Drive tf/kvm with the terraform CLI (a plain subprocess: python-terraform's flags are stale).

The configuration is copied into the work dir, where its state and provider cache live, so the
repository never holds state and teardown knows exactly what to destroy. The OpenStack provider
reads the OS_* variables, which are rebuilt from the site's credentials (the JupyterHub's own
OS_* variables would otherwise win).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from minutes import REPO_ROOT
from minutes.infra.context import Credentials
from minutes.io import write_json

VARS_FILE = "minutes.auto.tfvars.json"
VOLUME_RESOURCE = "openstack_blockstorage_volume_v3.data"


class TerraformError(RuntimeError):
    """terraform exited non-zero; the message holds the command and its error output."""


def source_dir(params: Any) -> Path:
    d = Path(params.infra.terraform.dir)
    return d if d.is_absolute() else REPO_ROOT / d


def work_dir(params: Any) -> Path:
    return params.stage_dir("infra") / "terraform"


def commands(params: Any) -> list[list[str]]:
    """The argv lists apply runs, in order (shown in plan mode)."""
    tf, wd = params.infra.terraform.binary, str(work_dir(params))
    return [[tf, f"-chdir={wd}", "init", "-input=false", "-no-color"],
            [tf, f"-chdir={wd}", "apply", "-auto-approve", "-input=false", "-no-color"],
            [tf, f"-chdir={wd}", "output", "-json"]]


def destroy_command(params: Any) -> list[str]:
    return [params.infra.terraform.binary, f"-chdir={work_dir(params)}", "destroy", "-auto-approve",
            "-input=false", "-no-color"]


def provider_env(creds: Credentials, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment with OS_* replaced by exactly this site's credentials."""
    if creds.auth_type not in ("v3applicationcredential", "v3password"):
        raise TerraformError(f"the Terraform OpenStack provider needs an application credential or a "
                             f"password for {creds.site}, not {creds.auth_type}; set "
                             "<SITE>_OS_APPLICATION_CREDENTIAL_ID/SECRET (see the README)")
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if not k.startswith("OS_")}
    env.update({"OS_AUTH_URL": creds.auth_url, "OS_REGION_NAME": creds.site, "OS_AUTH_TYPE": creds.auth_type,
                "OS_INTERFACE": "public", "OS_IDENTITY_API_VERSION": "3"})
    env.update({f"OS_{k.upper()}": v for k, v in creds.options.items()})
    return env


def prepare(params: Any, variables: dict[str, Any]) -> Path:
    """Copy the *.tf files into the work dir (state stays there) and write the variables."""
    wd = work_dir(params)
    wd.mkdir(parents=True, exist_ok=True)
    for tf in sorted(source_dir(params).glob("*.tf")):
        shutil.copy2(tf, wd / tf.name)
    write_json(wd / VARS_FILE, variables)
    return wd


def run(argv: list[str], env: dict[str, str], timeout_s: int) -> str:
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError as exc:
        raise TerraformError(f"{argv[0]} not found; install Terraform >= 1.5 or set infra.terraform.binary") from exc
    except subprocess.TimeoutExpired as exc:
        raise TerraformError(f"{' '.join(argv[:3])} ran past {timeout_s} s") from exc
    if proc.returncode != 0:
        raise TerraformError(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def apply(params: Any, variables: dict[str, Any], creds: Credentials) -> dict[str, Any]:
    """init + apply + output; returns {output name: value}."""
    import json

    prepare(params, variables)
    env = provider_env(creds)
    out = ""
    for argv in commands(params):
        out = run(argv, env, params.infra.terraform.timeout_s)
    return {k: v.get("value") for k, v in json.loads(out or "{}").items()}


def has_state(params: Any) -> bool:
    state = work_dir(params) / "terraform.tfstate"
    if not state.is_file():
        return False
    import json

    try:
        return bool(json.loads(state.read_text()).get("resources"))
    except ValueError:
        return True


def destroy(params: Any, creds: Credentials) -> bool:
    """Destroy what the state holds, then remove the work copy. False when there was nothing.

    The data volume is first dropped from the state (so it survives) unless
    infra.delete_volume asks for it to go too.
    """
    wd = work_dir(params)
    if not wd.exists():
        return False
    had = has_state(params)
    if had:
        env = provider_env(creds)
        if not params.infra.delete_volume and VOLUME_RESOURCE in state_resources(params):
            run([params.infra.terraform.binary, f"-chdir={wd}", "state", "rm", VOLUME_RESOURCE], env,
                params.infra.terraform.timeout_s)
        run(destroy_command(params), env, params.infra.terraform.timeout_s)
    shutil.rmtree(wd)
    return had


def state_resources(params: Any) -> list[str]:
    """Addresses (type.name) of the resources in the local state."""
    import json

    try:
        state = json.loads((work_dir(params) / "terraform.tfstate").read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [f"{r['type']}.{r['name']}" for r in state.get("resources", []) if r.get("mode") == "managed"]


#: Where provider mirrors may be installed on offline machines (terraform init -plugin-dir).
PLUGIN_DIRS = ("/opt/tf-plugins",)
PROVIDER = "registry.terraform.io/terraform-provider-openstack/openstack"


def _unquote(key: str) -> str:
    return key.strip('"')


def parse_config(params: Any) -> dict[str, Any]:
    """HCL parse of the *.tf files: resources, data sources, variables (with/without default)."""
    import hcl2

    out: dict[str, Any] = {"resources": [], "data": [], "variables": {}, "outputs": [], "files": []}
    for tf in sorted(source_dir(params).glob("*.tf")):
        with tf.open(encoding="utf-8") as fh:
            doc = hcl2.load(fh)
        out["files"].append(tf.name)
        for block in doc.get("resource", []):
            for rtype, body in block.items():
                out["resources"] += [f"{_unquote(rtype)}.{_unquote(n)}" for n in body]
        for block in doc.get("data", []):
            for rtype, body in block.items():
                out["data"] += [f"{_unquote(rtype)}.{_unquote(n)}" for n in body]
        for block in doc.get("variable", []):
            for name, body in block.items():
                out["variables"][_unquote(name)] = {"required": "default" not in body}
        for block in doc.get("output", []):
            out["outputs"] += [_unquote(n) for n in block]
    return out


def provider_mirror() -> Path | None:
    """A local mirror holding the OpenStack provider, if this machine has one."""
    for d in PLUGIN_DIRS:
        if (Path(d) / PROVIDER).is_dir():
            return Path(d)
    return None


def check_config(params: Any, variables: dict[str, Any]) -> dict[str, Any]:
    """Offline checks of tf/kvm: HCL parse, variables vs. what we pass, fmt -check, validate.

    `terraform validate` needs the provider; it runs only when a local mirror holds it.
    """
    import tempfile

    parsed = parse_config(params)
    declared = parsed["variables"]
    out: dict[str, Any] = {
        "files": parsed["files"], "resources": parsed["resources"], "outputs": parsed["outputs"],
        "missing_variables": sorted(v for v, d in declared.items() if d["required"] and v not in variables),
        "unknown_variables": sorted(v for v in variables if v not in declared),
    }
    binary = shutil.which(params.infra.terraform.binary)
    if not binary:
        out["fmt"] = out["validate"] = f"skipped: {params.infra.terraform.binary} is not installed"
        return out
    fmt = subprocess.run([binary, "fmt", "-check", "-diff", "-recursive", str(source_dir(params))],
                         capture_output=True, text=True, timeout=60)
    out["fmt"] = "ok" if fmt.returncode == 0 else f"needs formatting:\n{fmt.stdout[-2000:]}"
    mirror = provider_mirror()
    if mirror is None:
        out["validate"] = (f"skipped: no local mirror of {PROVIDER} in {', '.join(PLUGIN_DIRS)} "
                           "(terraform init cannot download providers offline)")
        return out
    with tempfile.TemporaryDirectory(prefix="minutes-tf-") as tmp:
        for tf in source_dir(params).glob("*.tf"):
            shutil.copy2(tf, Path(tmp) / tf.name)
        init = subprocess.run([binary, f"-chdir={tmp}", "init", "-backend=false", "-input=false", "-no-color",
                               f"-plugin-dir={mirror}"], capture_output=True, text=True, timeout=300)
        if init.returncode != 0:
            out["validate"] = f"init failed: {init.stderr[-1000:]}"
            return out
        val = subprocess.run([binary, f"-chdir={tmp}", "validate", "-no-color"], capture_output=True, text=True,
                             timeout=120)
        out["validate"] = "ok" if val.returncode == 0 else f"failed: {(val.stderr or val.stdout)[-1500:]}"
    return out
