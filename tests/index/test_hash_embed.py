"""The scale benchmark's stand-in embedder: deterministic, unit length, text-dependent, and what
load_embedder returns for `hash-<dim>` whatever the backend."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minutes.config.index import IndexParams
from minutes.index.embed import load_embedder
from minutes.index.hash_embed import HashEmbedder, hash_dim

TEXTS = ["The remote control needs a rubber case.", "A rubber case for the remote control.",
         "The education budget grows by five percent."]


def test_same_text_same_vector_across_instances() -> None:
    a, b = HashEmbedder(384).encode(TEXTS), HashEmbedder(384).encode(TEXTS)
    assert a.shape == (3, 384) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)


def test_shared_words_are_near_and_unrelated_texts_are_not() -> None:
    emb = HashEmbedder(384)
    v = emb.encode(TEXTS)
    # a sum of word vectors: word order and stopwords do not count
    assert np.allclose(emb.encode(["case rubber, needs the control remote"])[0], v[0], atol=1e-6)
    # text 1 has 4 of text 0's 5 content words ("needs" is missing): for near-orthogonal
    # random word vectors the cosine is about 4 / sqrt(5 * 4) = 0.894
    assert float(v[0] @ v[1]) == pytest.approx(4 / np.sqrt(20), abs=0.06)
    assert abs(float(v[0] @ v[2])) < 0.2  # no word in common


def test_truncation_and_texts_without_content_words() -> None:
    short = HashEmbedder(64, max_seq_length=2)
    assert np.array_equal(short.encode(["remote control rubber"]), short.encode(["remote control budget"]))
    empty = short.encode(["", "the of and"])
    assert np.array_equal(empty[0], empty[1]) and empty[0][0] == 1.0


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_load_embedder_maps_hash_names(backend: str, tmp_path: Path) -> None:
    emb = load_embedder(IndexParams(embedding_model="hash-384", backend=backend, max_seq_length=256), tmp_path)
    assert isinstance(emb, HashEmbedder)
    assert emb.info.name == "hash-384" and emb.info.dim == 384 and emb.info.max_seq_length == 256
    other = load_embedder(IndexParams(embedding_model="hash-128"))
    assert other.info.key != emb.info.key  # vectors of another dimension are refused by the index


def test_hash_dim() -> None:
    assert hash_dim("hash-384") == 384 and hash_dim("hash-16") == 16
    assert hash_dim("hash-0") is None and hash_dim("packaged") is None and hash_dim("hash-384x") is None
