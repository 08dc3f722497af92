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


#: Error codes of the registry meaning "nothing holds this alias / no such version or model".
_ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


class RegistryError(RuntimeError):
    """The registry answered with an error other than "not there"."""


def registry_version(params: Params) -> str | None:
    """The version holding the alias (or the version itself when `serve.model_alias` is a number),
    or None when none does (or the model is not registered).

    A tracking server is asked over MLflow's REST API directly: importing the MLflow client costs
    the service ~110 MB of memory to read one field every few seconds (the client is imported
    once a model is actually loaded). Other tracking URIs (a database, a folder) go through it."""
    from minutes.platform.mlflow_server import tracking_uri

    uri = tracking_uri(params)
    name, ref = params.train.registered_model, params.serve.model_alias
    if not uri.startswith(("http://", "https://")):
        return _client_version(uri, name, ref)
    if ref.isdigit():  # a version number pins that version (benchmarks, emergency pinning)
        found = _rest_get(uri, "model-versions/get", {"name": name, "version": ref})
    else:
        found = _rest_get(uri, "registered-models/alias", {"name": name, "alias": ref})
    return None if found is None else str(found["model_version"]["version"])


def _rest_get(uri: str, endpoint: str, query: dict[str, str]) -> dict[str, Any] | None:
    """GET one registry endpoint with the client's credentials (MLFLOW_TRACKING_TOKEN, else
    MLFLOW_TRACKING_USERNAME/PASSWORD) and TLS settings; None for "not there"."""
    import httpx

    headers, auth = {}, None
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    elif os.environ.get("MLFLOW_TRACKING_USERNAME"):
        auth = (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))
    verify: bool | str = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or True
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true"):
        verify = False
    timeout = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "10"))
    r = httpx.get(f"{uri.rstrip('/')}/api/2.0/mlflow/{endpoint}", params=query, headers=headers,
                  auth=auth, verify=verify, timeout=timeout)
    if r.status_code == 200:
        return dict(r.json())
    try:
        code, message = r.json().get("error_code"), r.json().get("message", "")
    except ValueError:
        code, message = None, r.text[:200]
    if code in _ABSENT:
        return None
    raise RegistryError(f"the model registry answered {r.status_code} to {endpoint}: {code or ''} {message}".strip())


def _client_version(uri: str, name: str, ref: str) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=uri)
    try:
        if ref.isdigit():
            return str(client.get_model_version(name, ref).version)
        mv = client.get_model_version_by_alias(name, ref)
    except MlflowException as exc:
        if exc.error_code in _ABSENT:
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
