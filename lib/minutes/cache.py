"""Stage cache: a manifest per stage so unchanged work is skipped on re-run.

A stage's manifest records content hashes of its inputs, a hash of its parameters, the code
version, counts and timings. It is written last, atomically, so it doubles as the commit marker:
a stage killed half-way has no valid manifest and runs again.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from minutes import REPO_ROOT, __version__
from minutes.io import read_json, write_json

MANIFEST = "manifest.json"
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


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


def hash_path(path: str | os.PathLike[str]) -> str:
    """Content hash of a file, or of every file under a directory (names included)."""
    path = Path(path)
    if path.is_file():
        return hash_file(path)
    if not path.is_dir():
        return "missing"
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


def code_version(modules: Iterable[str] = ()) -> str:
    """Package version plus a hash of the named modules' source (a code change re-runs a stage)."""
    h = hashlib.sha256(__version__.encode())
    for mod in sorted(modules):
        base = REPO_ROOT / "lib" / Path(*mod.split("."))
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
        for f in files:
            if f.is_file():
                h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


@dataclass
class Stage:
    """One stage's folder and manifest. Use `is_current()` to skip, `finish()` to commit."""

    dir: Path
    params: Any
    inputs: dict[str, Path] = field(default_factory=dict)
    code: Iterable[str] = ()
    force: bool = False
    _started: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.dir = Path(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fingerprint = {
            "params_hash": hash_params(self.params),
            "inputs": {k: hash_path(v) for k, v in sorted(self.inputs.items())},
            "code_version": code_version(self.code),
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
        return all((self.dir / name).exists() for name in m.get("outputs", []))

    def begin(self) -> None:
        """Invalidate the old manifest before touching outputs, so a crash means 're-run'."""
        self.manifest_path.unlink(missing_ok=True)
        self._started = time.time()

    def finish(self, outputs: Iterable[str], counts: dict[str, Any] | None = None,
               timings: dict[str, float] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the manifest (atomically, last). `outputs` are names inside the stage dir."""
        outputs = list(outputs)
        missing = [o for o in outputs if not (self.dir / o).exists()]
        if missing:
            raise FileNotFoundError(f"stage {self.dir.name}: outputs not written: {missing}")
        manifest = {
            "stage": self.dir.name,
            "status": "complete",
            **self._fingerprint,
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
