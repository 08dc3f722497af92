"""The generator in the MLflow model registry: log + register a version, resolve, download.

Aliases are never set here: evaluation's gates move `staging` / `production`.
"""
from __future__ import annotations

import importlib.metadata
import re
import shutil
from pathlib import Path
from typing import Any

from minutes.generate.base import MODEL_META, base_cache_dir
from minutes.generate.generator import Generator
from minutes.io import atomic_path

_PINNED = ("torch", "transformers", "peft", "mlflow")


def _client(params: Any) -> Any:
    import mlflow
    from mlflow import MlflowClient

    from minutes.platform.mlflow_server import ensure_server

    uri = ensure_server(params)
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


def resolve_version(params: Any, alias_or_version: str | int) -> str:
    """A version number (as a string) for "3", 3, "latest", "staging" or "models:/name@staging"."""
    from mlflow.exceptions import MlflowException

    name = params.train.registered_model
    ref = str(alias_or_version).strip()
    m = re.fullmatch(r"models:/([^/@]+)(?:/(\w+)|@([\w-]+))", ref)
    if m:
        if m.group(1) != name:
            raise ValueError(f"{ref}: not a version of {name!r} (train.registered_model)")
        ref = m.group(2) or m.group(3)
    client = _client(params)
    try:
        if ref.isdigit():
            return client.get_model_version(name, ref).version
        if ref == "latest":
            versions = client.search_model_versions(f"name='{name}'")
            if not versions:
                raise LookupError(f"registered model {name!r} has no versions yet (run notebook 30_train)")
            return str(max(int(v.version) for v in versions))
        return client.get_model_version_by_alias(name, ref).version
    except MlflowException as exc:
        raise LookupError(f"no version {ref!r} of registered model {name!r} at "
                          f"{client.tracking_uri}: {exc.message}") from exc


def download_model(params: Any, alias_or_version: str | int) -> tuple[Path, str]:
    """Download a registered version's adapter (once) into the work dir; returns (dir, version)."""
    import mlflow

    version = resolve_version(params, alias_or_version)
    name = params.train.registered_model
    dest = params.stage_dir("train") / "registry" / name / version
    if not (dest / ".complete").exists():
        with atomic_path(dest) as tmp:
            tmp.mkdir(parents=True)
            mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(tmp))
            (tmp / ".complete").write_text(version)
    found = sorted(p.parent for p in dest.rglob(MODEL_META))
    if not found:
        raise FileNotFoundError(f"models:/{name}/{version} holds no {MODEL_META}; not a minutes generator")
    return found[0], version


def load_registered(params: Any, alias_or_version: str | int, device: str = "auto") -> Generator:
    """`models:/<train.registered_model>/<version>` or `@<alias>`, downloaded once and loaded."""
    path, version = download_model(params, alias_or_version)
    return Generator.from_dir(path, device=device, cache_dir=base_cache_dir(params), version=version)


def requirements() -> list[str]:
    """Pinned requirements of the pyfunc (given explicitly: inferring them loads the model)."""
    out = []
    for pkg in _PINNED:
        try:
            out.append(f"{pkg}=={importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(pkg)
    return out


def log_and_register(params: Any, model_dir: Path, run_id: str, tags: dict[str, str]) -> str:
    """Log `model_dir` as a pyfunc in `run_id` and register it; returns the new version."""
    import mlflow

    from minutes.generate.pyfunc import ADAPTER_ARTIFACT, GeneratorModel

    client = _client(params)
    name = params.train.registered_model
    clean = Path(model_dir)
    if not (clean / MODEL_META).is_file():
        raise FileNotFoundError(f"{clean}: no {MODEL_META}; not a saved generator")
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name="generator", python_model=GeneratorModel(),
            artifacts={ADAPTER_ARTIFACT: str(clean)}, pip_requirements=requirements(),
            registered_model_name=name)
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value)[:5000])
    client.set_model_version_tag(name, version, "run_id", run_id)
    return version


def copy_model_dir(src: Path, dest: Path, skip: tuple[str, ...] = ("state.pt",)) -> Path:
    """Copy a checkpoint's model files (not its optimizer state) atomically to `dest`."""
    with atomic_path(dest) as tmp:
        shutil.copytree(src, tmp, ignore=shutil.ignore_patterns(*skip))
    return dest
