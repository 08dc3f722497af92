"""The content-addressed embedding cache: identical text is embedded once per model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minutes.index.embed_cache import MERGE_AT, EmbeddingCache
from minutes.index.hash_embed import HashEmbedder


class Counting:
    """A real (deterministic) embedder that records which texts it was asked for."""

    def __init__(self, dim: int = 32, max_seq_length: int = 256) -> None:
        self.inner = HashEmbedder(dim, max_seq_length)
        self.info = self.inner.info
        self.asked: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self.inner.encode(texts)


TEXTS = [f"A: we talked about the {w} budget" for w in ("red", "blue", "green", "grey")]


def test_only_unseen_texts_are_embedded_and_vectors_match(tmp_path: Path) -> None:
    emb = Counting()
    cache = EmbeddingCache(tmp_path, emb.info)
    first, hits = cache.encode(TEXTS[:3] + TEXTS[:1], emb)
    assert hits == 0 and emb.asked == TEXTS[:3]  # a repeated text is embedded once
    again = EmbeddingCache(tmp_path, emb.info)  # a new process reads the shards
    emb.asked.clear()
    second, hits = again.encode(TEXTS, emb)
    assert hits == 3 and emb.asked == TEXTS[3:]
    np.testing.assert_array_equal(second, emb.inner.encode(TEXTS))
    np.testing.assert_array_equal(first[3], first[0])


def test_another_model_never_sees_these_vectors(tmp_path: Path) -> None:
    a, b = Counting(max_seq_length=256), Counting(max_seq_length=128)
    EmbeddingCache(tmp_path, a.info).encode(TEXTS, a)
    _, hits = EmbeddingCache(tmp_path, b.info).encode(TEXTS, b)
    assert hits == 0 and b.asked == TEXTS


def test_shards_merge_and_a_damaged_shard_is_skipped(tmp_path: Path) -> None:
    emb = Counting()
    cache = EmbeddingCache(tmp_path, emb.info)
    for i in range(MERGE_AT + 2):
        cache.encode([f"text number {i}"], emb)
    assert len(list(cache.folder.glob("shard-*.npz"))) < MERGE_AT
    (cache.folder / "shard-999999.npz").write_bytes(b"not an npz")
    fresh = EmbeddingCache(tmp_path, emb.info)
    assert len(fresh) == MERGE_AT + 2
    emb.asked.clear()
    fresh.encode([f"text number {i}" for i in range(MERGE_AT + 2)], emb)
    assert emb.asked == []


def test_a_wrong_shape_from_the_embedder_is_an_error(tmp_path: Path) -> None:
    emb = Counting()
    with pytest.raises(ValueError, match="returned"):
        EmbeddingCache(tmp_path, emb.info).encode(TEXTS, lambda t: np.zeros((1, 32), np.float32))
