"""Remove secrets from executed notebooks and HTML before they are archived.

Two kinds of secret are removed: the values of environment variables whose names look like
credentials (so a cell that prints os.environ leaks nothing), and the values of notebook
parameters whose names look like credentials (papermill copies parameters into the notebook).
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping

from minutes.config.secrets import secret_name

MASK = "***"
#: Environment variable names whose values are credentials.
SECRET_ENV = re.compile(
    r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL_ID|^MINIO_|^AWS_SESSION)",
    re.I)
#: Values shorter than this are not masked (masking "1" or "true" everywhere would wreck reports).
MIN_SECRET_LEN = 6


def secret_values(environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> list[str]:
    """Values to mask: secret-looking environment variables plus `extra`, longest first."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if SECRET_ENV.search(k) and len(v) >= MIN_SECRET_LEN}
    values |= {v for v in extra if v and len(v) >= MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def scrub_text(text: str, values: Iterable[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def _secret_params(params: Mapping[str, Any]) -> list[str]:
    found = []
    for key, value in params.items():
        if secret_name(key) and value not in (None, ""):
            found.append(str(value))
        elif isinstance(value, (list, tuple)):
            # overrides like ["mlflow.token=abc"]
            for item in value:
                if isinstance(item, str) and "=" in item and secret_name(item.split("=", 1)[0]):
                    found.append(item.split("=", 1)[1])
    return found


def _walk(obj: Any, values: list[str]) -> Any:
    if isinstance(obj, str):
        return scrub_text(obj, values)
    if isinstance(obj, list):
        return [_walk(v, values) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if secret_name(k) and isinstance(v, (str, int, float)) and v not in ("", None):
                out[k] = MASK
            else:
                out[k] = _walk(v, values)
        return out
    return obj


def scrub_obj(obj: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Scrub any JSON-like object (metrics, run records) of secret environment values."""
    return _walk(obj, secret_values(environ))


def scrub_notebook(nb: Any, environ: Mapping[str, str] | None = None) -> tuple[Any, list[str]]:
    """Return a scrubbed copy of a notebook (nbformat node or dict) and the values masked."""
    import nbformat

    params = dict(nb.get("metadata", {}).get("papermill", {}).get("parameters", {}) or {})
    values = secret_values(environ, _secret_params(params))
    clean = _walk(dict(nb), values)
    return nbformat.from_dict(clean), values
