"""Registry aliases: move `staging` when the gates pass, promote to `production`, roll back.

Every move remembers the alias's previous holder in a registered-model tag
(`alias_history.<alias>`, a JSON list), so `rollback` can re-point the alias without anyone
having to remember version numbers. The service resolves `models:/<name>@<alias>`; when no
version holds the alias it answers extractively.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from minutes.config import Params
from minutes.evaluate.gates import GateDecision

log = logging.getLogger(__name__)
HISTORY_TAG = "alias_history.{alias}"
HISTORY_LIMIT = 50


class PromotionError(RuntimeError):
    """An alias cannot be moved as asked; the message says why."""


def client(params: Params) -> Any:
    """An MlflowClient on the profile's tracking server (started locally when needed)."""
    from mlflow import MlflowClient

    from minutes.platform.mlflow_server import ensure_server

    uri = ensure_server(params)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _model(params: Params) -> str:
    return params.train.registered_model


def _is_missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") \
        or "RESOURCE_DOES_NOT_EXIST" in str(exc) or "not found" in str(exc).lower()


def alias_version(params: Params, alias: str, mlflow_client: Any = None) -> str | None:
    """The version holding `alias`, or None (no such alias, or no such model)."""
    from mlflow.exceptions import MlflowException

    c = mlflow_client or client(params)
    try:
        return str(c.get_model_version_by_alias(_model(params), alias).version)
    except MlflowException as exc:
        if _is_missing(exc):
            return None
        raise


def latest_version(params: Params, mlflow_client: Any = None) -> str | None:
    """The newest registered version (highest number), or None when none is registered."""
    c = mlflow_client or client(params)
    versions = c.search_model_versions(f"name='{_model(params)}'")
    return str(max(int(v.version) for v in versions)) if versions else None


def alias_history(params: Params, alias: str, mlflow_client: Any = None) -> list[str]:
    """Versions that held `alias` before its current holder, oldest first."""
    from mlflow.exceptions import MlflowException

    c = mlflow_client or client(params)
    try:
        tags = c.get_registered_model(_model(params)).tags
    except MlflowException as exc:
        if _is_missing(exc):
            return []
        raise
    raw = tags.get(HISTORY_TAG.format(alias=alias), "[]")
    try:
        return [str(v) for v in json.loads(raw)]
    except (json.JSONDecodeError, TypeError) as exc:
        raise PromotionError(f"registered model {_model(params)!r}: tag "
                             f"{HISTORY_TAG.format(alias=alias)!r} is not a JSON list: {raw!r}") from exc


def _check_version(c: Any, name: str, version: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        c.get_model_version(name, str(version))
    except MlflowException as exc:
        if _is_missing(exc):
            raise PromotionError(f"registered model {name!r} has no version {version!r}") from exc
        raise


def _point(c: Any, params: Params, alias: str, version: str, history: list[str], why: str) -> None:
    name = _model(params)
    c.set_registered_model_tag(name, HISTORY_TAG.format(alias=alias), json.dumps(history[-HISTORY_LIMIT:]))
    c.set_registered_model_alias(name, alias, str(version))
    c.set_model_version_tag(name, str(version), f"{alias}.since", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    c.set_model_version_tag(name, str(version), f"{alias}.why", why[:500])
    log.info("alias %s@%s -> version %s (%s)", name, alias, version, why)


def promote(params: Params, version: str | int, alias: str, why: str = "promoted explicitly") -> dict[str, Any]:
    """Point `alias` at `version`, remembering the previous holder for `rollback`."""
    c = client(params)
    name, version = _model(params), str(version)
    _check_version(c, name, version)
    previous = alias_version(params, alias, c)
    if previous == version:
        return {"alias": alias, "version": version, "previous": previous, "moved": False}
    history = alias_history(params, alias, c)
    if previous is not None:
        history.append(previous)
    _point(c, params, alias, version, history, why)
    return {"alias": alias, "version": version, "previous": previous, "moved": True}


def rollback(params: Params, alias: str) -> dict[str, Any]:
    """Re-point `alias` at the version that held it before (skipping deleted versions)."""
    from mlflow.exceptions import MlflowException

    c = client(params)
    name = _model(params)
    current = alias_version(params, alias, c)
    history = alias_history(params, alias, c)
    while history:
        target = history.pop()
        if target == current:
            continue
        try:
            c.get_model_version(name, target)
        except MlflowException as exc:
            if _is_missing(exc):
                continue
            raise
        _point(c, params, alias, target, history, f"rollback from version {current}")
        return {"alias": alias, "version": target, "previous": current, "moved": True}
    raise PromotionError(f"{name}@{alias}: no earlier version held this alias; nothing to roll back to "
                         f"(current: {current})")


def apply_decision(params: Params, decision: GateDecision, alias: str) -> dict[str, Any]:
    """Act on a gate decision: move `alias` on pass, leave it on fail; tag the version either way."""
    c = client(params) if decision.candidate is not None else None
    result: dict[str, Any] = {"alias": alias, "passed": decision.passed, "moved": False,
                              "previous": None, "version": decision.candidate}
    if c is not None:
        name = _model(params)
        tag = {"passed": "passed", "reason": decision.reason[:500],
               "metric": decision.metric, "score": f"{decision.candidate_score:.4f}"
               if decision.candidate_score is not None else ""}
        for key, value in tag.items():
            c.set_model_version_tag(name, decision.candidate, f"gate.{alias}.{key}",
                                    str(decision.passed).lower() if key == "passed" else value)
    if decision.passed and decision.candidate is not None:
        result.update(promote(params, decision.candidate, alias, why=decision.reason))
        result["passed"] = True
    else:
        result["previous"] = alias_version(params, alias, c) if c is not None else None
        result["version"] = result["previous"]  # the alias stays where it was
    return result


def status(params: Params, aliases: tuple[str, ...] = ("staging", "production")) -> dict[str, Any]:
    """Latest version and who holds each alias (with its history), for people and the CLI."""
    c = client(params)
    return {"model": _model(params), "latest": latest_version(params, c),
            "aliases": {a: {"version": alias_version(params, a, c), "history": alias_history(params, a, c)}
                        for a in aliases}}


def main(argv: list[str] | None = None) -> int:
    """`python -m minutes.evaluate.promotion promote|rollback|status ...` (explicit, human steps)."""
    import argparse

    from minutes.config import load_params

    ap = argparse.ArgumentParser(prog="python -m minutes.evaluate.promotion", description=main.__doc__)
    ap.add_argument("action", choices=["promote", "rollback", "status"])
    ap.add_argument("--profile", default="local")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--alias", default="production", help="alias to move (default: production)")
    ap.add_argument("--version", help="version to promote; default: the one holding --from")
    ap.add_argument("--from", dest="source", default="staging",
                    help="promote the version holding this alias when --version is not given")
    args = ap.parse_args(argv)
    params = load_params(args.profile, args.overrides)
    try:
        if args.action == "status":
            out = status(params, tuple(dict.fromkeys(("staging", "production", args.alias))))
        elif args.action == "rollback":
            out = rollback(params, args.alias)
        else:
            version = args.version or alias_version(params, args.source)
            if version is None:
                raise PromotionError(f"{_model(params)}@{args.source} is not set; pass --version")
            out = promote(params, version, args.alias, why=f"promoted from the command line ({args.source})"
                          if not args.version else "promoted from the command line")
    except PromotionError as exc:
        print(f"error: {exc}")
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
