"""A deterministic stand-in for the sentence embedder, for scale benchmarks and tests.

Embedding a million chunks with MiniLM takes days on two cores; the scale benchmark needs vectors
of the right shape whose neighbours depend on the text, not their meaning. `HashEmbedder` gives
each content word (minutes.text.content_words) a fixed random vector seeded by the word's hash
and returns the unit-length sum: texts sharing words are near, the same text always maps to the
same vector, nothing is downloaded. Retrieval *quality* with it means nothing; FAISS, BM25 and
the service do the same work per query as with a real model of that dimension.

`index.embedding_model=hash-<dim>` (e.g. hash-384, MiniLM's dimension) selects it in
minutes.index.embed.load_embedder, whatever the backend.
"""
from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Sequence

from minutes.index.model_identity import ModelInfo

if TYPE_CHECKING:
    import numpy as np

NAME = re.compile(r"^hash-(\d{1,5})$")
#: Words whose vectors are remembered (a bound, so a huge vocabulary cannot exhaust memory).
CACHE_WORDS = 200_000


def hash_dim(name: str) -> int | None:
    """The dimension `name` asks for ("hash-384" -> 384), None for any other model name."""
    m = NAME.match(name)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


class HashEmbedder:
    """Content words -> fixed random vectors (seeded by blake2b of the word) -> unit-length sum.
    At most `max_seq_length` words of a text count, like a model's truncation."""

    def __init__(self, dim: int = 384, max_seq_length: int = 512) -> None:
        name = f"hash-{dim}"
        self.dim = dim
        self.max_seq_length = max_seq_length
        self.info = ModelInfo(name=name, source=name, dim=dim, max_seq_length=max_seq_length,
                              fingerprint=hashlib.sha256(f"{name}:v1".encode()).hexdigest()[:16],
                              backend="hash")
        self._words: dict[str, "np.ndarray"] = {}

    def _word(self, word: str) -> "np.ndarray":
        import numpy as np

        v = self._words.get(word)
        if v is None:
            seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            if len(self._words) < CACHE_WORDS:
                self._words[word] = v
        return v

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> "np.ndarray":
        import numpy as np

        from minutes.text import content_words

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in content_words(text)[: self.max_seq_length]:
                out[i] += self._word(w)
        out[np.linalg.norm(out, axis=1) == 0, 0] = 1.0  # a text without content words: a fixed unit vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)
