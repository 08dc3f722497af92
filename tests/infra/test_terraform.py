"""tf/kvm: formatting, HCL parse, names shared with python-chi, and the CLI driven from Python
(a recording stand-in for the terraform binary: the OpenStack provider cannot be had offline)."""
from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from minutes import REPO_ROOT
from minutes.infra import cloud_requests, kvm, teardown, terraform
from minutes.infra.context import Credentials
from tests.infra.conftest import SECRET

FAKE_TF = r"""#!/usr/bin/env python3
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
wd = Path(args[0].split("=", 1)[1])
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps({"argv": args, "os_env": sorted(k for k in os.environ if k.startswith("OS_")),
                          "cred_id": os.environ.get("OS_APPLICATION_CREDENTIAL_ID")}) + "\n")
cmd = args[1]
if cmd == "apply":
    (wd / "terraform.tfstate").write_text(json.dumps({"resources": [
        {"mode": "managed", "type": "openstack_compute_instance_v2", "name": "vm"},
        {"mode": "managed", "type": "openstack_blockstorage_volume_v3", "name": "data"}]}))
elif cmd == "output":
    print(json.dumps({"floating_ip": {"value": "129.114.1.2"}, "instance_id": {"value": "srv-tf"},
                      "volume_id": {"value": "vol-tf"}, "security_groups": {"value": ["minutes-allow-ssh-alice"]}}))
elif cmd == "destroy":
    (wd / "terraform.tfstate").write_text(json.dumps({"resources": []}))
"""


@pytest.fixture
def fake_tf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    binary = tmp_path / "terraform"
    binary.write_text(FAKE_TF)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "tf.log"
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    return binary, log


def _log(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")
def test_fmt_check() -> None:
    proc = subprocess.run(["terraform", "fmt", "-check", "-diff", "-recursive", "tf/kvm"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_hcl_parses_and_matches_the_python_side(params) -> None:
    parsed = terraform.parse_config(params)
    assert {"openstack_compute_instance_v2.vm", "openstack_networking_floatingip_v2.vm",
            "openstack_networking_secgroup_v2.service", "openstack_networking_secgroup_rule_v2.service",
            "openstack_blockstorage_volume_v3.data"} <= set(parsed["resources"])
    assert terraform.VOLUME_RESOURCE in parsed["resources"]
    tfvars = cloud_requests.terraform_vars(params, "flavor-id")
    required = {v for v, d in parsed["variables"].items() if d["required"]}
    assert required <= set(tfvars) and set(tfvars) <= set(parsed["variables"])
    main = (terraform.source_dir(params) / "main.tf").read_text()
    # the same names python-chi uses, so teardown and re-runs find Terraform's resources too
    assert '"minutes-allow-${each.key}-${var.suffix}"' in main
    assert '"minutes-kvm-fip-${var.suffix}"' in main and '"minutes-kvm-data-${var.suffix}"' in main
    assert {"floating_ip", "instance_id", "volume_id"} <= set(parsed["outputs"])


def test_check_config_reports_validate_skip_offline(params) -> None:
    out = terraform.check_config(params, cloud_requests.terraform_vars(params, "x"))
    assert out["missing_variables"] == [] and out["unknown_variables"] == []
    if terraform.provider_mirror() is None:
        assert out["validate"].startswith("skipped")


def test_provider_env_replaces_hub_variables() -> None:
    creds = Credentials("KVM@TACC", "v3applicationcredential", "https://kvm.tacc.chameleoncloud.org:5000/v3",
                        {"application_credential_id": "id1", "application_credential_secret": SECRET})
    env = terraform.provider_env(creds, {"OS_ACCESS_TOKEN": "hub", "OS_AUTH_TYPE": "v3oidcaccesstoken", "PATH": "/bin"})
    assert "OS_ACCESS_TOKEN" not in env and env["OS_AUTH_TYPE"] == "v3applicationcredential"
    assert env["OS_APPLICATION_CREDENTIAL_ID"] == "id1" and env["OS_REGION_NAME"] == "KVM@TACC"
    with pytest.raises(terraform.TerraformError, match="application credential or a password"):
        terraform.provider_env(Credentials("KVM@TACC", "v3oidcaccesstoken", "u", {}))


def test_terraform_tool_end_to_end(params_factory, fake_chi, fake_tf, monkeypatch: pytest.MonkeyPatch) -> None:
    binary, log = fake_tf
    monkeypatch.setenv("OS_ACCESS_TOKEN", "hub-token-should-not-reach-terraform")
    p = params_factory("infra.mode=apply", "infra.tool=terraform", f"infra.terraform.binary={binary}",
                       "infra.poll_s=0.001")
    node, _ = kvm.apply(p)
    cloud = fake_chi["KVM@TACC"]
    assert [m for _, m, _ in cloud.calls if m.startswith("create")] == ["create_lease"]  # the rest is Terraform's
    calls = _log(log)
    assert [c["argv"][1] for c in calls] == ["init", "apply", "output"]
    assert calls[1]["argv"][2:] == ["-auto-approve", "-input=false", "-no-color"]
    assert all("OS_ACCESS_TOKEN" not in c["os_env"] and c["cred_id"] == "kvm_tacc-id-123456" for c in calls)
    tfvars = json.loads((terraform.work_dir(p) / terraform.VARS_FILE).read_text())
    assert tfvars["flavor_id"] == node["reservation_id"]  # the reserved flavor, not m1.xlarge
    assert node["floating_ip"] == "129.114.1.2" and node["server_id"] == "srv-tf"
    assert SECRET not in (terraform.work_dir(p) / terraform.VARS_FILE).read_text()

    teardown.apply(p)
    calls = _log(log)[3:]
    assert [c["argv"][1:4] for c in calls] == [["state", "rm", terraform.VOLUME_RESOURCE],
                                               ["destroy", "-auto-approve", "-input=false"]]
    assert not terraform.work_dir(p).exists()
    teardown.apply(p)
    assert len(_log(log)) == 5  # nothing left to destroy
