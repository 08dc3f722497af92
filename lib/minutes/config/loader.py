"""Load params/<profile>.yaml into a validated `Params`.

Profiles may `extends:` another; `key.sub=value` overrides apply last. Relative paths are taken
from the repository root, `${VAR}` / `${VAR:-default}` references from the environment. Every
error names the file, the key and what was expected, because a bad params file is the most
common way a batch run fails.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from minutes import REPO_ROOT
from minutes.config.profile import Params
from minutes.config.secrets import secret_name

PARAMS_DIR = REPO_ROOT / "params"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ParamsError(ValueError):
    """A params file or override is invalid; the message says where and why."""


def profile_path(profile: str | Path) -> Path:
    """Resolve a profile name ("local") or a path to a YAML file."""
    p = Path(profile)
    if p.suffix in (".yaml", ".yml"):
        return p if p.is_absolute() else (Path.cwd() / p)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(profile)):
        raise ParamsError(f"profile name {profile!r} is not a plain name or a .yaml path")
    return PARAMS_DIR / f"{profile}.yaml"


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise ParamsError(f"{path}: no such params file (known profiles: {', '.join(known)})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge `extra` into a copy of `base`; nested mappings merge, anything else replaces."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _load_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[str, Path]]:
    """Return the merged raw mapping and, for each dotted key, the file that set it last."""
    path = path.resolve()
    if path in seen:
        raise ParamsError(f"{path}: `extends` forms a cycle through {[str(s) for s in seen]}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    if parent is not None:
        if not isinstance(parent, str):
            raise ParamsError(f"{path}: key 'extends': expected a profile name, got {parent!r}")
        merged, origin = _load_chain(profile_path(parent) if not parent.endswith((".yaml", ".yml"))
                                     else (path.parent / parent), seen + (path,))
    for dotted in _dotted_keys(data):
        origin[dotted] = path
    return deep_merge(merged, data), origin


def _dotted_keys(data: dict[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, dict):
            yield from _dotted_keys(value, dotted + ".")


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (["a", "b"], value parsed as a YAML scalar/list)."""
    if "=" not in item:
        raise ParamsError(f"override {item!r}: expected key.sub=value")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in parts):
        raise ParamsError(f"override {item!r}: {key!r} is not a dotted key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    for item in overrides:
        parts, value = parse_override(item)
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ParamsError(f"override {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def _expand_env(value: Any) -> Any:
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    return value


def _check_no_secrets(data: dict[str, Any], source: str) -> None:
    for dotted in _dotted_keys(data):
        # such values would end up in archived notebooks; they come from the environment instead
        if secret_name(dotted.rsplit(".", 1)[-1]):
            raise ParamsError(
                f"{source}: key {dotted!r} looks like a credential; credentials come from the "
                "environment (or clouds.yaml), never from params files or overrides")


def _resolve_paths(params: Params) -> Params:
    """Make every relative Path absolute against the repository root."""

    def fix(model: Any) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, Path) and not value.is_absolute():
                object.__setattr__(model, name, (REPO_ROOT / value).resolve())
            elif hasattr(type(value), "model_fields"):
                fix(value)

    fix(params)
    return params


def _format_errors(exc: ValidationError, origin: dict[str, Path], fallback: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        # The file that set this key, or the nearest parent key that a file set.
        where = fallback
        parts = loc.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in origin:
                where = origin[".".join(parts[:i])]
                break
        kind = err["type"]
        if kind == "extra_forbidden":
            what = "unknown key (not a parameter; check the spelling)"
        elif kind == "missing":
            what = "required value is missing"
        else:
            what = f"{err['msg']} (got {err.get('input')!r})"
        lines.append(f"{where}: key '{loc}': {what}")
    return "invalid parameters:\n  " + "\n  ".join(lines)


def load_params(profile: str | Path = "local", overrides: Iterable[str] = ()) -> Params:
    """Load, merge, override, validate. Raises ParamsError with file and key on any problem."""
    path = profile_path(profile)
    raw, origin = _load_chain(path)
    _check_no_secrets(raw, str(path))
    overrides = list(overrides or [])
    override_map = apply_overrides({}, overrides)
    _check_no_secrets(override_map, "overrides")
    for dotted in _dotted_keys(override_map):
        origin[dotted] = Path("<override>")
    raw = deep_merge(raw, override_map)
    raw.setdefault("profile", path.stem)
    try:
        params = Params.model_validate(_expand_env(raw))
    except ValidationError as exc:
        raise ParamsError(_format_errors(exc, origin, path)) from None
    return _resolve_paths(params)
