"""The one rule for bearer tokens on endpoints that change state (ingest, router control).

The expected token lives in an environment variable of the server, never in a file or the
parameters; without one the endpoint is off (503), so a forgotten token never means open.
"""
from __future__ import annotations

import hmac
import os


def auth_header(token: str) -> dict[str, str]:
    """The header a client sends with `token` (ingest, router control, pinned requests)."""
    return {"Authorization": f"Bearer {token}"}


def token_problem(authorization: str, env_name: str, what: str) -> tuple[int, str] | None:
    """(status, message) when the `Authorization` header does not carry the token held in
    `env_name`: 401 without a bearer token, 403 with a wrong one, 503 when the server has none;
    None when it does. Compared in constant time."""
    expected = os.environ.get(env_name, "")
    if not expected:
        return 503, f"{what} is disabled: the server has no token (set the environment variable {env_name})"
    if not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        return 401, f"missing {what} token: send 'Authorization: Bearer <token>'"
    if not hmac.compare_digest(authorization[7:].strip().encode(), expected.encode()):
        return 403, f"wrong {what} token"
    return None
