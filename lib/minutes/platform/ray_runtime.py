"""Ray: a local instance on this machine by default, a cluster address on Chameleon."""
from __future__ import annotations

import os
from typing import Any

from minutes.config import Params


def init_ray(params: Params, **kwargs: Any) -> Any:
    """Connect to (or start) Ray once per process; returns the ray module."""
    import ray

    if ray.is_initialized():
        return ray
    tmp = params.work_dir / "ray"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {"env_vars": {k: v for k, v in os.environ.items()
                        if k.startswith(("HF_", "TRANSFORMERS_", "MLFLOW_", "TOKENIZERS_"))}}
    if params.ray.address:
        ray.init(address=params.ray.address, runtime_env=env, **kwargs)
    else:
        # Ray's default temp dir path must stay short (unix socket paths are limited to 107 bytes).
        ray.init(num_cpus=params.ray.num_cpus, include_dashboard=False, runtime_env=env,
                 _temp_dir=f"/tmp/ray-minutes-{os.getuid()}", configure_logging=False, **kwargs)
    return ray


def shutdown_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
