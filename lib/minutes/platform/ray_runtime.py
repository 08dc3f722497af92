"""Ray: a local instance on this machine by default, a cluster address on Chameleon."""
from __future__ import annotations

import logging
import os
from typing import Any

import tenacity

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


def _startup_timed_out(exc: BaseException) -> bool:
    return "timed out during startup" in str(exc)


def _before_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("Ray did not start (attempt %d): %s; retrying", state.attempt_number, exc)
    shutdown_ray()


#: Pause before a new local start: 5 s, then 10 s, ... (the machine is busy; give it time).
RETRY_WAIT: tenacity.wait.wait_base = tenacity.wait_incrementing(start=5, increment=5)


def init_ray(params: Params, attempts: int = 4, **kwargs: Any) -> Any:
    """Connect to (or start) Ray once per process; returns the ray module.

    A local start is retried: on a loaded machine the raylet can miss Ray's fixed start-up
    window ("node timed out during startup"), and a second start usually makes it. A cluster
    address is not retried (a wrong address should fail at once)."""
    import ray

    if ray.is_initialized():
        return ray
    (params.work_dir / "ray").mkdir(parents=True, exist_ok=True)
    if params.ray.address:
        _start(params, **kwargs)
        return ray
    retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(attempts), wait=RETRY_WAIT,
                                 retry=tenacity.retry_if_exception(_startup_timed_out),
                                 before_sleep=_before_retry, reraise=True)
    retrying(_start, params, **kwargs)
    return ray


def shutdown_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
