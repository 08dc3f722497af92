"""The generator behind the service's alias, re-read from the MLflow registry while it runs.

A background thread asks the registry which version holds `serve.model_alias` every
`serve.alias_poll_seconds`. A new version is loaded beside the old one and swapped in with one
reference assignment, so promotion and rollback need no restart and requests never see a
half-loaded model. No version under the alias means extractive answers. A registry that cannot
be reached keeps whatever is loaded (a network blip must not drop the model).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

from minutes.config import Params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    version: str | None
    generator: Any | None


def registry_version(params: Params) -> str | None:
    """The version holding the alias (or the version itself when `serve.model_alias` is a number),
    or None when none does (or the model is not registered)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from minutes.platform.mlflow_server import tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri(params))
    ref = params.serve.model_alias
    try:
        if ref.isdigit():  # a version number pins that version (benchmarks, emergency pinning)
            return str(client.get_model_version(params.train.registered_model, ref).version)
        mv = client.get_model_version_by_alias(params.train.registered_model, ref)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise
    return str(mv.version)


def load_generator(params: Params) -> Any:
    from minutes.generate import runtime
    from minutes.generate.registry import load_registered

    return runtime.apply(load_registered(params, params.serve.model_alias), params)


class ModelWatcher:
    """Holds the current generator; `refresh()` once, `start()` to keep polling."""

    def __init__(self, params: Params, on_change: Callable[[Loaded], None] | None = None) -> None:
        self.params = params
        self.current = Loaded(None, None)
        self.last_error: str | None = None
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Fail fast on an unreachable registry instead of MLflow's minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

    def refresh(self) -> Loaded:
        try:
            version = registry_version(self.params)
            if version != self.current.version:
                if version is None:
                    new = Loaded(None, None)
                else:
                    gen = load_generator(self.params)
                    new = Loaded(str(getattr(gen, "version", version)), gen)
                log.info("model alias %r: version %s -> %s", self.params.serve.model_alias,
                         self.current.version, new.version)
                self.current = new
                if self._on_change:
                    self._on_change(new)
            self.last_error = None
        except Exception as exc:  # keep serving with what is loaded; report it on /readyz
            self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("model alias refresh failed: %s", self.last_error)
        return self.current

    def _loop(self) -> None:
        while not self._stop.wait(self.params.serve.alias_poll_seconds):
            self.refresh()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="alias-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
