"""Stage cache: a manifest per stage so unchanged work is skipped on re-run.

A stage's manifest records content hashes of its inputs, a hash of its parameters, the code that
ran, counts and timings. It is written last, atomically, so it doubles as the commit marker: a
stage killed half-way has no valid manifest and runs again.

The code is derived, never listed by hand: `finish()` records every `minutes` module loaded in
the process (the stage's import closure, and possibly more) with a hash of what its source does
(`hash_source`: the syntax tree without docstrings, so an edit to a comment, a docstring or the
layout re-runs nothing), plus the versions of the libraries that change results. `is_current()`
re-hashes exactly those modules, so the record cannot go stale: a new import can only come from a changed module, which is in it.
A module is hashed as this process first saw it, so a kernel still running code edited on disk
records the code it ran. Work a stage hands to other processes (Ray tasks) must import its
modules in the driver too.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.metadata
import json
import os
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, TypeVar

from minutes import __version__
from minutes.io import atomic_path, read_json, write_json

MANIFEST = "manifest.json"
T = TypeVar("T")
PACKAGE = "minutes"
#: Installed distributions whose version changes what a stage computes (absent ones are skipped).
RESULT_DEPENDENCIES = ("torch", "transformers", "sentence-transformers", "faiss-cpu", "peft", "faster-whisper",
                       "bm25s", "onnxruntime", "ctranslate2")
MISSING = "missing"
_HASH_CACHE: dict[tuple[str, int, int], str] = {}
#: Source hash of each imported package module when this process first saw it.
_SEEN: weakref.WeakKeyDictionary[ModuleType, str] = weakref.WeakKeyDictionary()


def hash_file(path: Path) -> str:
    """sha256 of a file's content (memoised on path, size and mtime within this process)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


_SOURCE_CACHE: dict[tuple[str, int, int], str] = {}


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def hash_source(path: Path) -> str:
    """sha256 of what a Python file does: its syntax tree with docstrings dropped, so comments,
    docstrings and layout do not count (a file that does not parse is hashed as bytes)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SOURCE_CACHE:
        raw = path.read_bytes()
        try:
            tree = _without_docstrings(ast.parse(raw, filename=path.name))
            digest = hashlib.sha256(b"ast:" + ast.dump(tree, annotate_fields=False).encode()).hexdigest()
        except (SyntaxError, ValueError):
            digest = hashlib.sha256(raw).hexdigest()
        _SOURCE_CACHE[key] = digest
    return _SOURCE_CACHE[key]


def hash_path(path: str | os.PathLike[str]) -> str:
    """Content hash of a file, or of every file under a directory (names included)."""
    path = Path(path)
    if path.is_file():
        return hash_file(path)
    if not path.is_dir():
        return MISSING
    h = hashlib.sha256()
    for sub in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(str(sub.relative_to(path)).encode())
        h.update(hash_file(sub).encode())
    return h.hexdigest()


def hash_params(params: Any) -> str:
    """Stable hash of JSON-able parameters (pydantic models are dumped first)."""
    if hasattr(params, "model_dump"):
        params = params.model_dump(mode="json")
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def dependency_versions() -> dict[str, str]:
    """Versions of the installed RESULT_DEPENDENCIES (a library upgrade re-runs a stage)."""
    out = {}
    for dist in RESULT_DEPENDENCIES:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def loaded_modules() -> list[str]:
    """The package's modules imported in this process so far, by name."""
    return sorted(name for name, mod in list(sys.modules.items())
                  if (name == PACKAGE or name.startswith(PACKAGE + ".")) and getattr(mod, "__file__", None))


def _search_path(package: str) -> list[str] | None:
    """Folders a package's submodules are imported from (its live __path__ once imported)."""
    loaded = sys.modules.get(package)
    if loaded is not None:
        path = getattr(loaded, "__path__", None)
        return list(path) if path is not None else None
    spec = _spec(package)
    return list(spec.submodule_search_locations) if spec and spec.submodule_search_locations else None


def _spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Where `name` is (or would be) imported from, found without importing it or its packages."""
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__spec__", None) is not None:
        return loaded.__spec__
    parent, _, _ = name.rpartition(".")
    if not parent:
        return importlib.machinery.PathFinder.find_spec(name)
    search = _search_path(parent)
    return importlib.machinery.PathFinder.find_spec(name, search) if search else None


def module_file(name: str) -> Path | None:
    """The source file of a module (the loaded one when imported); None when there is none."""
    mod = sys.modules.get(name)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if origin is None:
        spec = _spec(name)
        origin = spec.origin if spec is not None and spec.has_location else None
    return Path(origin) if origin else None


def _disk_hash(path: Path | None) -> str:
    return hash_source(path) if path is not None and path.is_file() else MISSING


def _running_hash(name: str) -> str:
    """Hash of the source this process runs for `name`: for an imported module the source as
    first seen here (a file edited after its import is not what runs; a notebook kernel that
    re-runs a cell still runs the old code), else the file a fresh import would load."""
    mod = sys.modules.get(name)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if origin is None:
        return _disk_hash(module_file(name))
    seen = _SEEN.get(mod)
    if seen is None:
        seen = _SEEN[mod] = _disk_hash(Path(origin))
    return seen


def remember_loaded() -> None:
    """Note the source of every package module imported so far (the sooner, the truer)."""
    for name in loaded_modules():
        _running_hash(name)


def module_hashes(names: Iterable[str]) -> dict[str, str]:
    """Source hash per module name, as this process runs it; MISSING for a module gone since."""
    return {name: _running_hash(name) for name in sorted(names)}


def code_record() -> dict[str, Any]:
    """What ran, for a manifest: every loaded package module's source hash, and the libraries."""
    return {"modules": module_hashes(loaded_modules()), "dependencies": dependency_versions()}


def code_is_current(record: Any) -> bool:
    """True when the recorded modules hash the same today and the libraries are the same versions.
    Anything else (an old manifest's format, a module gone, a library upgraded) is not current."""
    if not isinstance(record, dict) or not isinstance(record.get("modules"), dict) or not record["modules"]:
        return False
    modules = record["modules"]
    return (MISSING not in modules.values() and module_hashes(modules) == modules
            and dependency_versions() == record.get("dependencies"))


def code_version(packages: Iterable[str]) -> str:
    """Package version plus a hash of every module under the named packages and the library
    versions: a key for caches outside a Stage (per-file transcripts, the deployed API)."""
    h = hashlib.sha256(__version__.encode())
    for name in sorted(packages):
        spec = _spec(name)
        if spec is None or not spec.has_location or spec.origin is None:
            raise ValueError(f"code_version: no module named {name!r}")
        folders = _search_path(name) if spec.submodule_search_locations is not None else None
        origin = Path(spec.origin)
        files = (sorted((f.relative_to(d), f) for d in map(Path, folders) for f in d.rglob("*.py")) if folders
                 else [(Path(origin.name), origin)])
        for rel, f in files:
            h.update(str(rel).encode())
            h.update(hash_source(f).encode())
    h.update(json.dumps(dependency_versions(), sort_keys=True).encode())
    return f"{__version__}+{h.hexdigest()[:12]}"


@dataclass
class Stage:
    """One stage's folder and manifest. Use `is_current()` to skip, `finish()` to commit."""

    dir: Path
    params: Any
    inputs: dict[str, Path] = field(default_factory=dict)
    force: bool = False
    _started: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        remember_loaded()
        self.dir = Path(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fingerprint = {
            "params_hash": hash_params(self.params),
            "inputs": {k: hash_path(v) for k, v in sorted(self.inputs.items())},
        }

    @property
    def manifest_path(self) -> Path:
        return self.dir / MANIFEST

    @property
    def manifest(self) -> dict[str, Any] | None:
        try:
            return read_json(self.manifest_path)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_current(self) -> bool:
        """True when a finished manifest matches inputs, params and code, and outputs exist."""
        if self.force:
            return False
        m = self.manifest
        if not m or m.get("status") != "complete":
            return False
        if any(m.get(k) != v for k, v in self._fingerprint.items()):
            return False
        if not code_is_current(m.get("code")):
            return False
        return all((self.dir / name).exists() for name in m.get("outputs", []))

    def begin(self) -> None:
        """Invalidate the old manifest before touching outputs, so a crash means 're-run'."""
        self.manifest_path.unlink(missing_ok=True)
        self._started = time.time()

    def finish(self, outputs: Iterable[str], counts: dict[str, Any] | None = None,
               timings: dict[str, float] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the manifest (atomically, last), recording the code that ran. `outputs` are
        names inside the stage dir."""
        outputs = list(outputs)
        missing = [o for o in outputs if not (self.dir / o).exists()]
        if missing:
            raise FileNotFoundError(f"stage {self.dir.name}: outputs not written: {missing}")
        manifest = {
            "stage": self.dir.name,
            "status": "complete",
            **self._fingerprint,
            "code": code_record(),
            "input_paths": {k: str(v) for k, v in self.inputs.items()},
            "outputs": outputs,
            "output_hashes": {o: hash_path(self.dir / o) for o in outputs},
            "counts": counts or {},
            "timings": {"total_s": round(time.time() - self._started, 3), **(timings or {})},
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **(extra or {}),
        }
        write_json(self.manifest_path, manifest)
        return manifest



#: Results kept per memo name (older keys are deleted when a new one is stored).
MEMO_KEEP = 3


def memo_key(parts: dict[str, Any]) -> str:
    """The key of a memoised result: a hash of everything it depends on (JSON-able parts)."""
    return hash_params(parts)[:20]


def memoized(folder: Path, name: str, parts: dict[str, Any], compute: Callable[[], T]) -> tuple[T, dict[str, Any]]:
    """`compute()`'s value for exactly these `parts` (what the result depends on: data hashes,
    parameters, `code_version` of the code that computes it), from <folder>/<name>-<key>.pkl
    when an earlier run stored it; else computed and stored atomically. Returns (value, info):
    info says whether it was reused and when it was computed. A file that no longer unpickles
    (a library upgrade) is computed again, never an error."""
    import pickle

    folder = Path(folder)
    key = memo_key(parts)
    path = folder / f"{name}-{key}.pkl"
    if path.is_file():
        try:
            with path.open("rb") as fh:
                stored = pickle.load(fh)
            if stored.get("parts") == json.loads(json.dumps(parts, sort_keys=True, default=str)):
                return stored["value"], {"cached": True, "key": key, "computed_at": stored["computed_at"],
                                         "compute_s": stored["compute_s"]}
        except Exception:  # noqa: BLE001 - a damaged or stale file is a cache miss
            pass
    t0 = time.time()
    value = compute()
    record = {"parts": json.loads(json.dumps(parts, sort_keys=True, default=str)), "value": value,
              "computed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "compute_s": round(time.time() - t0, 2)}
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        pickle.dump(record, fh, protocol=pickle.HIGHEST_PROTOCOL)
    older = sorted((p for p in folder.glob(f"{name}-*.pkl") if p != path), key=lambda p: p.stat().st_mtime)
    for old in older[: max(0, len(older) - (MEMO_KEEP - 1))]:
        old.unlink(missing_ok=True)
    return value, {"cached": False, "key": key, "computed_at": record["computed_at"], "compute_s": record["compute_s"]}

remember_loaded()  # what was imported before this module: seen as early as possible
