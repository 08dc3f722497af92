"""The index on disk: immutable version folders and a CURRENT pointer.

    <stage_dir>/CURRENT          name of the live version (replaced atomically)
    <stage_dir>/v0002/index.faiss, embeddings.npy, chunks.arrow, index.json, bm25/

A writer builds a complete new version, then swaps CURRENT; a reader resolves CURRENT once and
reads one consistent version. The previous version is kept so a reader that resolved CURRENT
just before a swap still finds its files. Writers across processes serialize on a lock file.
The data of a version never changes; its manifest may gain what was measured on it
(`annotate`: the retrieval method 20_index found best per setting).

The chunk table is an uncompressed Arrow IPC file, memory-mapped by the service: at 100k chunks
a pandas frame of Python strings costs ~10 KB of RSS per chunk, the mapped file only the pages
a search touches. Versions written before (chunks.parquet) are still read.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from minutes.index.bm25 import Bm25
from minutes.index.page_cache import prefetch
from minutes.io import atomic_path, read_json, write_json, write_text

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

CURRENT = "CURRENT"
INDEX_FILE = "index.faiss"
VECTORS_FILE = "embeddings.npy"
CHUNKS_FILE = "chunks.arrow"
#: The chunk table of versions written before the Arrow file (read, never written).
LEGACY_CHUNKS_FILE = "chunks.parquet"
META_FILE = "index.json"
BM25_DIR = "bm25"
#: Manifest key: the retrieval method to serve per setting ("within", "corpus").
BEST_METHODS = "best_methods"
KEEP_VERSIONS = 2
_VERSION = re.compile(r"^v(\d{4,})$")

log = logging.getLogger(__name__)


class IndexMismatch(RuntimeError):
    """The stored index does not fit the model, params or its own files; the message says how.

    It names the version, the part and the values that disagree, never a folder or file path
    (it can reach an API answer or a report); the log line next to it says where."""


def model_label(source: Any) -> str:
    """A model's name for a message: a hub id as it is, a path by its last component."""
    text = str(source or "?")
    return Path(text).name if "/" in text and (text.startswith(("/", ".", "~")) or Path(text).exists()) else text


def _mismatch(folder: Path, message: str, detail: str = "") -> IndexMismatch:
    log.error("index at %s: %s%s", folder, message, f" ({detail})" if detail else "")
    return IndexMismatch(message)


class Snapshot:
    """One consistent version in memory: FAISS index, vectors, chunk table, manifest and BM25
    (None for a version written before BM25 was stored: the retriever builds it).

    The chunk table is held as Arrow (`table`, possibly memory-mapped) or as pandas (`chunks`),
    whichever it was made from; the other form is derived on first use. The service reads only
    Arrow columns; evaluation and training ask for the DataFrame."""

    def __init__(self, index: Any, vectors: "np.ndarray", meta: dict[str, Any], version: str,
                 bm25: Bm25 | None = None, chunks: "pd.DataFrame | None" = None,
                 table: "pa.Table | None" = None) -> None:
        if (chunks is None) == (table is None):
            raise TypeError("a Snapshot takes its chunk table as exactly one of chunks= or table=")
        self.index = index
        self.vectors = vectors
        self.meta = meta
        self.version = version
        self.bm25 = bm25
        self._chunks = chunks
        self._table = table
        #: the IPC file `table` is mapped from (read_current with mmap), for positional text reads
        self.table_file: Path | None = None
        self._lock = threading.Lock()

    @property
    def table(self) -> "pa.Table":
        with self._lock:
            if self._table is None:
                self._table = to_arrow(self._chunks)
            return self._table

    @property
    def chunks(self) -> "pd.DataFrame":
        with self._lock:
            if self._chunks is None:
                self._chunks = to_pandas(self._table)
            return self._chunks

    def __len__(self) -> int:
        return len(self._table) if self._table is not None else len(self._chunks)


def to_arrow(chunks: "pd.DataFrame") -> "pa.Table":
    """A chunk table as Arrow (speakers as a list of strings)."""
    import pyarrow as pa

    return pa.Table.from_pandas(chunks, preserve_index=False)


def to_pandas(table: "pa.Table") -> "pd.DataFrame":
    """An Arrow chunk table as the DataFrame `minutes.index.chunks.validate` returns."""
    df = table.to_pandas()
    if "speakers" in df.columns:
        df["speakers"] = df["speakers"].map(lambda s: [str(x) for x in (s if s is not None else [])])
    return df


def write_table(path: Path, chunks: "pd.DataFrame | pa.Table") -> None:
    """The chunk table as an uncompressed Arrow IPC file (memory-mappable), written atomically."""
    import pyarrow as pa

    table = chunks if isinstance(chunks, pa.Table) else to_arrow(chunks)
    with atomic_path(Path(path)) as tmp:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=64 * 1024)


def map_random(path: Path) -> Any:
    """A read-only map of `path` told to expect random access (see `_advise_random`), its file
    read into the page cache in the background (see `prefetch`)."""
    import mmap as mm

    with open(path, "rb") as fh:
        mapped = mm.mmap(fh.fileno(), 0, access=mm.ACCESS_READ)
        prefetch(fh.fileno())
    return _advise_random(mapped)


def _advise_random(mapped: Any) -> Any:
    """MADV_RANDOM on a mapping: a search reads a few rows here and there, and the kernel's
    default read-around would page in ~128 KB around each."""
    import mmap as mm

    if hasattr(mapped, "madvise") and hasattr(mm, "MADV_RANDOM"):
        mapped.madvise(mm.MADV_RANDOM)
    return mapped


def open_ipc(path: Path) -> "pa.Table":
    """An Arrow IPC file mapped for random access, zero-copy."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.BufferReader(pa.py_buffer(map_random(path)))).read_all()


def load_vectors(path: Path, mmap: bool = False) -> "np.ndarray":
    """embeddings.npy, read or mapped for random access (see `_advise_random`)."""
    import numpy as np

    vectors = np.load(path, mmap_mode="r" if mmap else None)
    if getattr(vectors, "_mmap", None) is not None:
        _advise_random(vectors._mmap)
        prefetch(path)
    return vectors


def read_table(folder: Path, mmap: bool = False) -> "pa.Table":
    """The chunk table of a version folder: mapped (zero-copy) or read into memory."""
    import pyarrow as pa

    folder = Path(folder)
    path = folder / CHUNKS_FILE
    if not path.is_file() and (folder / LEGACY_CHUNKS_FILE).is_file():
        import pyarrow.parquet as pq  # only for versions written before the IPC file (a service would carry it)

        return pq.read_table(folder / LEGACY_CHUNKS_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no chunk table")
    if mmap:
        return open_ipc(path)
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).read_all().combine_chunks()


def current_version(stage_dir: Path) -> str | None:
    path = Path(stage_dir) / CURRENT
    return path.read_text().strip() if path.is_file() else None


def _versions(stage_dir: Path) -> list[str]:
    return sorted(p.name for p in Path(stage_dir).iterdir() if p.is_dir() and _VERSION.match(p.name))


@contextlib.contextmanager
def write_lock(stage_dir: Path) -> Iterator[None]:
    """Exclusive across processes (flock), so two writers never interleave versions."""
    Path(stage_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(stage_dir) / ".write.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_version(stage_dir: Path, index: Any, vectors: "np.ndarray", chunks: "pd.DataFrame | pa.Table",
                  meta: dict[str, Any], bm25: Bm25 | None = None) -> str:
    """Write a new version folder atomically and make it CURRENT; returns its name.
    Call under `write_lock`."""
    import faiss
    import numpy as np
    import pyarrow as pa

    stage_dir = Path(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    existing = _versions(stage_dir)
    number = int(_VERSION.match(existing[-1]).group(1)) + 1 if existing else 1
    version = f"v{number:04d}"
    meta = {**meta, "version": version, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if "chunk_ids" not in meta:  # a service's snapshot leaves them to its table (read_current)
        ids = chunks.column("chunk_id").to_pylist() if isinstance(chunks, pa.Table) else list(chunks["chunk_id"])
        meta["chunk_ids"] = [str(c) for c in ids]
    if bm25 is not None:
        if bm25.n != len(chunks):
            raise ValueError(f"BM25 holds {bm25.n} chunks, the chunk table {len(chunks)}")
        meta["bm25"] = bm25.info()
    else:
        meta.pop("bm25", None)
    with atomic_path(stage_dir / version) as tmp:
        tmp.mkdir()
        faiss.write_index(index, str(tmp / INDEX_FILE))
        np.save(tmp / VECTORS_FILE, vectors)
        write_table(tmp / CHUNKS_FILE, chunks)
        if bm25 is not None:
            bm25.save(tmp / BM25_DIR)
        write_json(tmp / META_FILE, meta)
    write_text(stage_dir / CURRENT, version + "\n")
    for old in _versions(stage_dir)[:-KEEP_VERSIONS]:
        shutil.rmtree(stage_dir / old, ignore_errors=True)
    return version


def annotate(stage_dir: Path, version: str, updates: dict[str, Any]) -> dict[str, Any]:
    """Add `updates` to the manifest of `version` (atomically, under the write lock); returns it.
    Only what was measured on the version belongs here, never anything that changes its data."""
    stage_dir = Path(stage_dir)
    if not _VERSION.match(str(version)):
        raise ValueError(f"{version!r} is not an index version name")
    path = stage_dir / version / META_FILE
    with write_lock(stage_dir):
        if not path.is_file():
            raise FileNotFoundError(f"index version {version} is no longer on disk")
        meta = {**read_json(path), **updates}
        write_json(path, meta)
    return meta


def read_meta(stage_dir: Path) -> dict[str, Any]:
    version = current_version(stage_dir)
    if version is None:
        raise FileNotFoundError(f"{stage_dir}: no index here (run build_index / notebook 20_index)")
    return read_json(Path(stage_dir) / version / META_FILE)


def read_current(stage_dir: Path, mmap: bool = False) -> Snapshot:
    """Load the CURRENT version and check that its parts agree with each other."""
    import faiss

    stage_dir = Path(stage_dir)
    version = current_version(stage_dir)
    if version is None:
        raise FileNotFoundError(f"{stage_dir}: no index here (run build_index / notebook 20_index)")
    folder = stage_dir / version
    part = META_FILE
    try:
        meta = read_json(folder / META_FILE)
        part = INDEX_FILE
        index = faiss.read_index(str(folder / INDEX_FILE))
        part = VECTORS_FILE
        vectors = load_vectors(folder / VECTORS_FILE, mmap)
        part = CHUNKS_FILE
        table = read_table(folder, mmap)
        part = BM25_DIR
        bm25 = Bm25.load(folder / BM25_DIR, mmap=mmap) if (folder / BM25_DIR).is_dir() else None
    except (FileNotFoundError, RuntimeError, ValueError, KeyError) as exc:
        missing = isinstance(exc, FileNotFoundError)
        raise _mismatch(folder, f"index version {version} is incomplete or unreadable: {part} is "
                                f"{'missing' if missing else f'unreadable ({type(exc).__name__})'}",
                        str(exc)) from exc
    n = len(meta.get("chunk_ids", []))
    sizes = {"index.faiss": index.ntotal, "embeddings.npy": len(vectors), "chunk table": len(table),
             "index.json chunk_ids": n}
    if bm25 is not None:
        sizes["bm25"] = bm25.n
    if len(set(sizes.values())) != 1:
        raise _mismatch(folder, f"index version {version}: parts disagree on the number of chunks: {sizes}")
    if index.d != meta.get("dim") or vectors.shape[1] != meta.get("dim"):
        raise _mismatch(folder, f"index version {version}: dimension mismatch: index {index.d}, "
                                f"vectors {vectors.shape[1]}, manifest {meta.get('dim')}")
    if table.column("chunk_id").to_pylist() != meta["chunk_ids"]:
        raise _mismatch(folder, f"index version {version}: the chunk table and index.json list different chunk ids")
    if mmap:  # a service: the mapped table's chunk_id column holds them (100k strings are ~7 MB)
        meta = {k: v for k, v in meta.items() if k != "chunk_ids"}
    snap = Snapshot(index=index, vectors=vectors, table=table, meta=meta, version=version, bm25=bm25)
    if mmap and (folder / CHUNKS_FILE).is_file():
        snap.table_file = folder / CHUNKS_FILE
    return snap
