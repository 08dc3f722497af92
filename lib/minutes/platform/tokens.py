"""Bearer tokens of the local services (the API's ingest token, the router's control token).

The token is the environment variable's value when the user set one. Otherwise one is made
once per work dir and kept in `<work_dir>/.secrets/<VARIABLE>` (folder 0700, file 0600), the
way Jupyter keeps its server token: every notebook kernel, the pipeline runner and a later
session then agree on the token of the service that is running, so a re-run does not restart a
service only because its process made a new token, and a person can read the token to call
`/ingest` by hand. It never goes into parameters, reports or logs (minutes.config.secrets
masks it there).
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minutes.config import Params

FOLDER = ".secrets"
_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def token_file(params: "Params", env_name: str) -> Path:
    if not _NAME.match(env_name):
        raise ValueError(f"{env_name!r} is not an environment variable name (A-Z, 0-9, _)")
    return params.work_dir / FOLDER / env_name


def current_token(params: "Params", env_name: str) -> str:
    """The token in force: the variable's value, else the one kept for this work dir, else ""."""
    value = os.environ.get(env_name, "")
    if value:
        return value
    path = token_file(params, env_name)
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def _write_private(path: Path, text: str) -> None:
    """Atomically, readable by the owner only from the first byte on."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_token(params: "Params", env_name: str) -> bool:
    """Put the token in force into the environment variable `env_name` (services started from
    here inherit it), making and keeping one when there is none; True if one was made now."""
    value = current_token(params, env_name)
    made = not value
    if made:
        value = secrets.token_urlsafe(24)
        _write_private(token_file(params, env_name), value)
    os.environ[env_name] = value
    return made
