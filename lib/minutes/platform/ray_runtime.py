"""Ray: a local instance on this machine by default, a cluster address on Chameleon."""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from minutes.config import Params

log = logging.getLogger(__name__)


def _start(params: Params, **kwargs: Any) -> Any:
    import ray

    env = {"env_vars": {k: v for k, v in os.environ.items()
                        if k.startswith(("HF_", "TRANSFORMERS_", "MLFLOW_", "TOKENIZERS_"))}}
    if params.ray.address:
        return ray.init(address=params.ray.address, runtime_env=env, **kwargs)
    # Ray's default temp dir path must stay short (unix socket paths are limited to 107 bytes).
    return ray.init(num_cpus=params.ray.num_cpus, include_dashboard=False, runtime_env=env,
                    _temp_dir=f"/tmp/ray-minutes-{os.getuid()}", configure_logging=False, **kwargs)


def init_ray(params: Params, attempts: int = 4, **kwargs: Any) -> Any:
    """Connect to (or start) Ray once per process; returns the ray module.

    A local start is retried: on a loaded machine the raylet can miss Ray's fixed start-up
    window ("node timed out during startup"), and a second start usually makes it. A cluster
    address is not retried (a wrong address should fail at once)."""
    import ray

    if ray.is_initialized():
        return ray
    (params.work_dir / "ray").mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            _start(params, **kwargs)
            return ray
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception for this
            if attempt == attempts or params.ray.address or "timed out during startup" not in str(exc):
                raise
            log.warning("Ray did not start (attempt %d/%d): %s; retrying", attempt, attempts, exc)
            shutdown_ray()
            time.sleep(5 * attempt)
    raise AssertionError("unreachable")


def shutdown_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
