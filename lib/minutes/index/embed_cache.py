"""Chunk vectors remembered by content: (model, text) -> vector.

Re-chunking the corpus (other `data.chunks` sizes), adding meetings or rebuilding with another
FAISS kind changes the chunk table, but most chunk texts stay as they were; their vectors need
not be computed again. Entries are keyed by a hash of the text under a folder per model identity
(weights fingerprint, dimension, max_seq_length and backend: int8 vectors are not torch's), so
vectors of one model are never served for another. Storage is append-only shards of npz
(keys + float32 vectors), each written atomically: a killed build loses at most the shard it
was writing. Many small shards are merged into one when they pile up.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from minutes.cache import hash_params
from minutes.io import atomic_path

if TYPE_CHECKING:
    import numpy as np

    from minutes.index.model_identity import ModelInfo

log = logging.getLogger(__name__)

#: Shards in a model folder before they are merged into one.
MERGE_AT = 16
#: Bytes of sha256 that key a text (collisions at 2^-64 per pair: far below any corpus here).
KEY_BYTES = 16


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


def model_key(info: "ModelInfo") -> str:
    return hash_params({**info.key, "backend": info.backend})[:16]


class EmbeddingCache:
    """Vectors of one model by text, stored under <root>/<model_key>/shard-*.npz."""

    def __init__(self, root: Path, info: "ModelInfo") -> None:
        self.folder = Path(root) / model_key(info)
        self.dim = int(info.dim)
        self._known: dict[bytes, "np.ndarray"] | None = None

    def _load(self) -> dict[bytes, "np.ndarray"]:
        import numpy as np

        if self._known is None:
            known: dict[bytes, np.ndarray] = {}
            for shard in sorted(self.folder.glob("shard-*.npz")):
                try:
                    with np.load(shard) as data:
                        keys, vectors = data["keys"], data["vectors"]
                except (OSError, ValueError, KeyError) as exc:  # a foreign or damaged file: ignored
                    log.warning("embedding cache: skipping unreadable shard %s (%s)", shard.name, exc)
                    continue
                if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(keys) != len(vectors):
                    log.warning("embedding cache: skipping shard %s of another shape", shard.name)
                    continue
                known.update(zip((bytes(k) for k in keys), vectors))
            self._known = known
        return self._known

    def __len__(self) -> int:
        return len(self._load())

    def get(self, texts: Sequence[str]) -> list["np.ndarray | None"]:
        known = self._load()
        return [known.get(text_key(t)) for t in texts]

    def put(self, texts: Sequence[str], vectors: "np.ndarray") -> None:
        """Remember `vectors[i]` for `texts[i]` (one new shard; merged when shards pile up)."""
        import numpy as np

        if not len(texts):
            return
        keys = np.array([text_key(t) for t in texts], dtype=f"S{KEY_BYTES}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.folder.mkdir(parents=True, exist_ok=True)
        shards = sorted(self.folder.glob("shard-*.npz"))
        number = int(shards[-1].stem.split("-")[1]) + 1 if shards else 1
        _write_shard(self.folder / f"shard-{number:06d}.npz", keys, vectors)
        known = self._load()
        known.update(zip((bytes(k) for k in keys), vectors))
        if len(shards) + 1 >= MERGE_AT:
            self._merge(number + 1)

    def _merge(self, number: int) -> None:
        import numpy as np

        known = self._load()
        old = sorted(self.folder.glob("shard-*.npz"))
        keys = np.array(list(known), dtype=f"S{KEY_BYTES}")
        vectors = np.stack(list(known.values())) if known else np.zeros((0, self.dim), np.float32)
        _write_shard(self.folder / f"shard-{number:06d}.npz", keys, vectors)
        for shard in old:
            shard.unlink(missing_ok=True)

    def encode(self, texts: Sequence[str], embed: Callable[[list[str]], "np.ndarray"]) -> tuple["np.ndarray", int]:
        """Vectors of `texts` in order: cached ones looked up, the rest (each distinct text once)
        computed by `embed` and remembered. Returns (vectors, how many came from the cache)."""
        import numpy as np

        found = self.get(texts)
        todo = list(dict.fromkeys(t for t, v in zip(texts, found) if v is None))
        fresh: dict[str, np.ndarray] = {}
        if todo:
            computed = np.asarray(embed(todo), dtype=np.float32)
            if computed.shape != (len(todo), self.dim):
                raise ValueError(f"the embedder returned {computed.shape} for {len(todo)} texts of dim {self.dim}")
            self.put(todo, computed)
            fresh = dict(zip(todo, computed))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, (t, v) in enumerate(zip(texts, found)):
            out[i] = v if v is not None else fresh[t]
        return out, sum(v is not None for v in found)


def _write_shard(path: Path, keys: "np.ndarray", vectors: "np.ndarray") -> None:
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=keys, vectors=vectors)
