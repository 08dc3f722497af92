"""Playbooks: syntax of every one, real localhost runs through ansible-runner, failure reports."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.infra import configure
from minutes.infra.ansible import ANSIBLE_DIR, PlaybookFailed, localhost_inventory, resolve_playbook, run_playbook
from tests.infra.conftest import SECRET

PLAYBOOKS = sorted(p.name for p in ANSIBLE_DIR.glob("*.yml"))


def test_localhost_inventory_shape() -> None:
    inv = localhost_inventory(groups=["platform"], foo="bar")
    host = inv["all"]["hosts"]["localhost"]
    assert host["ansible_connection"] == "local" and host["foo"] == "bar"
    assert inv["all"]["children"] == {"platform": {"hosts": {"localhost": {}}}}


def test_missing_playbook_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="nope.yml does not exist"):
        resolve_playbook("nope.yml")


@pytest.mark.slow
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax(playbook: str) -> None:
    result = configure.syntax_check(playbook)
    assert result["ok"], result["detail"]


@pytest.mark.slow
def test_preflight_really_runs_on_localhost(tmp_path: Path) -> None:
    result = run_playbook("preflight.yml", localhost_inventory(), {"preflight_min_free_gb": 1},
                          private_data_dir=tmp_path / "pdd")
    assert result.ok and result.stats["ok"]["localhost"] >= 5
    assert result.host_table()[0]["failed"] == 0


@pytest.mark.slow
def test_failure_names_task_and_host_and_hides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINUTES_TEST_PASSWORD", SECRET)
    book = tmp_path / "fail.yml"
    book.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                    "    - name: Doomed step\n      ansible.builtin.fail:\n"
                    "        msg: \"broken {{ lookup('env', 'MINUTES_TEST_PASSWORD') }}\"\n")
    with pytest.raises(PlaybookFailed) as err:
        run_playbook(book, localhost_inventory(), private_data_dir=tmp_path / "pdd")
    failure = err.value.result.failures[0]
    assert failure["host"] == "localhost" and failure["task"] == "Doomed step"
    assert SECRET not in str(err.value)
    leaked = [p for p in (tmp_path / "pdd").rglob("*") if p.is_file() and SECRET in p.read_text(errors="ignore")]
    assert not leaked


@pytest.mark.parametrize("role", ["platform", "ray_head"])
def test_compose_templates_render_to_valid_compose(role: str) -> None:
    """The compose files the roles write: valid YAML, expected services, the shared network name."""
    import jinja2
    import yaml

    role_dir = ANSIBLE_DIR / "roles" / role
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text())
    text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        (role_dir / "templates" / "docker-compose.yml.j2").read_text()).render(
        **defaults, mlflow_tracking_uri="http://10.0.0.1:5000")
    compose = yaml.safe_load(text)
    if role == "platform":
        assert set(compose["services"]) == {"postgres", "minio", "minio-bucket", "minutes-db", "mlflow",
                                            "prometheus", "grafana"}
        service_defaults = yaml.safe_load((ANSIBLE_DIR / "roles/service/defaults/main.yml").read_text())
        assert compose["networks"]["platform"]["name"] == service_defaults["platform_network"]
        assert "/mnt/platform/postgres:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
        assert "PASSWORD}" in compose["services"]["mlflow"]["command"]  # from .env, not the file
    else:
        head = compose["services"]["ray-head"]
        assert head["network_mode"] == "host" and "--head" in head["command"]
        assert head["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
