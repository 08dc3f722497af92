"""init_ray retries a local start that missed Ray's start-up window, and nothing else."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tenacity

from minutes.config import load_params
from minutes.platform import ray_runtime


@pytest.fixture
def fake_start(monkeypatch: pytest.MonkeyPatch) -> Any:
    """_start raising the queued errors in turn (then succeeding); shutdowns are counted."""
    calls: dict[str, Any] = {"starts": 0, "shutdowns": 0, "errors": []}

    def start(params: Any, **kwargs: Any) -> None:
        calls["starts"] += 1
        if calls["errors"]:
            raise calls["errors"].pop(0)

    monkeypatch.setattr("ray.is_initialized", lambda: False)  # as if no other test started Ray
    monkeypatch.setattr(ray_runtime, "_start", start)
    monkeypatch.setattr(ray_runtime, "shutdown_ray", lambda: calls.__setitem__("shutdowns", calls["shutdowns"] + 1))
    monkeypatch.setattr(ray_runtime, "RETRY_WAIT", tenacity.wait_none())
    return calls


def _params(tmp_path: Path, *extra: str) -> Any:
    return load_params("ci", [f"work_dir={tmp_path / 'work'}", f"runs_dir={tmp_path / 'runs'}", *extra])


def test_a_start_up_timeout_is_retried(tmp_path: Path, fake_start: Any) -> None:
    fake_start["errors"] = [Exception("The node timed out during startup")] * 2
    ray_runtime.init_ray(_params(tmp_path))
    assert fake_start["starts"] == 3 and fake_start["shutdowns"] == 2


def test_other_errors_and_the_last_attempt_raise(tmp_path: Path, fake_start: Any) -> None:
    fake_start["errors"] = [RuntimeError("no space left on device")]
    with pytest.raises(RuntimeError, match="no space"):
        ray_runtime.init_ray(_params(tmp_path))
    assert fake_start["starts"] == 1
    fake_start["starts"] = 0
    fake_start["errors"] = [Exception("node timed out during startup")] * 5
    with pytest.raises(Exception, match="timed out during startup"):
        ray_runtime.init_ray(_params(tmp_path), attempts=2)
    assert fake_start["starts"] == 2


def test_a_cluster_address_is_not_retried(tmp_path: Path, fake_start: Any) -> None:
    fake_start["errors"] = [Exception("node timed out during startup")]
    with pytest.raises(Exception, match="timed out"):
        ray_runtime.init_ray(_params(tmp_path, "ray.address=ray://10.0.0.1:10001"))
    assert fake_start["starts"] == 1
