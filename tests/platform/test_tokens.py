"""Service tokens: the user's variable wins; otherwise one token per work dir, kept owner-only,
so that another process (a later kernel, the runner's reuse check) sees the same deployment."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from minutes.config import load_params
from minutes.platform import local_services, tokens

ENV = "MINUTES_INGEST_TOKEN"


@pytest.fixture()
def params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(ENV, raising=False)
    return load_params("ci", [f"work_dir={tmp_path / 'work'}"])


def test_a_made_token_is_kept_owner_only_and_reused(params, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tokens.current_token(params, ENV) == ""
    assert tokens.ensure_token(params, ENV) is True
    made = os.environ[ENV]
    assert len(made) >= 32
    path = tokens.token_file(params, ENV)
    assert path.read_text().strip() == made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, nothing left over
    monkeypatch.delenv(ENV)  # a new process: the same token, not a new one
    assert tokens.ensure_token(params, ENV) is False and os.environ[ENV] == made


def test_the_users_variable_wins_and_is_never_written(params, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens.ensure_token(params, ENV)
    kept = tokens.token_file(params, ENV).read_text().strip()
    monkeypatch.setenv(ENV, "chosen-by-the-user-0001")
    assert tokens.current_token(params, ENV) == "chosen-by-the-user-0001"
    assert tokens.ensure_token(params, ENV) is False
    assert tokens.token_file(params, ENV).read_text().strip() == kept


def test_a_variable_name_that_is_not_one_is_refused(params) -> None:
    with pytest.raises(ValueError, match="not an environment variable name"):
        tokens.token_file(params, "../../etc/passwd")


def test_another_process_computes_the_same_deployment_fingerprint(params, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """What broke the no-change re-run after a canary: the kernel that restarted the API made its
    own token, so the runner (another process, no token in its environment) saw other parameters."""
    tokens.ensure_token(params, ENV)
    here = local_services.fingerprint("api", params, [])
    code = ("import sys; from minutes.config import load_params; from minutes.platform import local_services; "
            f"print(local_services.fingerprint('api', load_params('ci', [{'work_dir=' + str(tmp_path / 'work')!r}]), []))")
    env = {k: v for k, v in os.environ.items() if k != ENV}
    there = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here
    monkeypatch.setenv(ENV, "another-token-0002")
    assert local_services.fingerprint("api", params, []) != here  # a token change still redeploys
