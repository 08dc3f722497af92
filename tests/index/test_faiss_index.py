"""FAISS index kinds on random unit vectors: exact agreement where it must hold, and the id
selector that filtered searches use."""
from __future__ import annotations

import numpy as np
import pytest

from minutes.config.index import IndexParams
from minutes.index import faiss_index


def unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf", "ivfpq"])
def test_each_kind_finds_a_stored_vector_first(kind: str) -> None:
    vecs = unit(2000)
    p = IndexParams(ivf_nlist=16, ivf_nprobe=16, pq_m=8, hnsw_m=16)
    index, knobs = faiss_index.build(vecs, kind, p)
    assert faiss_index.kind_of(index) == kind and index.ntotal == 2000
    scores, ids = faiss_index.search(index, vecs[:20], 5)
    assert ids.shape == (20, 5)
    hits = np.mean(ids[:, 0] == np.arange(20))
    assert hits >= (0.8 if kind == "ivfpq" else 1.0)
    if kind in ("ivf", "ivfpq"):
        assert knobs["ivf_nlist"] == 16


def test_flat_scores_are_inner_products() -> None:
    vecs = unit(50)
    index, _ = faiss_index.build(vecs, "flat", IndexParams())
    scores, ids = faiss_index.search(index, vecs[:1], 50)
    assert scores[0] == pytest.approx((vecs[ids[0]] @ vecs[0]), abs=1e-5)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_id_selector_restricts_results(kind: str) -> None:
    vecs = unit(1000, seed=1)
    index, _ = faiss_index.build(vecs, kind, IndexParams(ivf_nlist=8, ivf_nprobe=8))
    allowed = np.arange(100, 200)
    _, ids = faiss_index.search(index, vecs[:3], 10, allowed)
    got = ids[ids >= 0]
    assert len(got) and set(got.tolist()) <= set(allowed.tolist())


def test_small_corpora_get_fewer_lists() -> None:
    assert faiss_index.effective_nlist(100, 256) == 2
    assert faiss_index.effective_nlist(10, 256) == 1
    assert faiss_index.effective_nlist(100_000, 256) == 256


def test_ivfpq_refusals_name_the_problem() -> None:
    with pytest.raises(ValueError, match="must divide"):
        faiss_index.make("ivfpq", 30, 5000, IndexParams(pq_m=16))
    with pytest.raises(ValueError, match="at least 256 chunks"):
        faiss_index.make("ivfpq", 32, 100, IndexParams(pq_m=8))


def test_k_larger_than_the_index_is_clipped() -> None:
    index, _ = faiss_index.build(unit(3), "flat", IndexParams())
    _, ids = faiss_index.search(index, unit(1, seed=5), 10)
    assert ids.shape == (1, 3)


def test_stored_vectors_are_the_indexed_ones_without_a_copy() -> None:
    import faiss

    from minutes.index.faiss_index import stored_vectors

    x = np.random.default_rng(1).random((50, 8), dtype=np.float32)
    for index in (faiss.IndexFlatIP(8), faiss.IndexHNSWFlat(8, 16, faiss.METRIC_INNER_PRODUCT)):
        index.add(x)
        view = stored_vectors(index)
        assert np.array_equal(view, x) and not view.flags.writeable and not view.flags.owndata
    quantizer = faiss.IndexFlatIP(8)
    ivf = faiss.IndexIVFFlat(quantizer, 8, 4, faiss.METRIC_INNER_PRODUCT)
    ivf.train(x)
    ivf.add(x)
    assert stored_vectors(ivf) is None
