"""FAISS indexes over normalized vectors (inner product = cosine): flat, HNSW, IVF, IVF-PQ.

Row i of the chunk table is FAISS id i, so no id map is needed and adding chunks appends rows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from minutes.config.index import IndexParams

METRIC = "inner_product"


def effective_nlist(n: int, nlist: int) -> int:
    """FAISS wants ~39 training points per list; small corpora get fewer lists, not a warning."""
    return max(1, min(nlist, n // 39))


def make(kind: str, dim: int, n_train: int, p: "IndexParams") -> tuple[Any, dict[str, Any]]:
    """An empty index of `kind` and the knobs it was built with (recorded in the manifest)."""
    import faiss

    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        return faiss.IndexFlatIP(dim), {}
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, p.hnsw_m, ip)
        index.hnsw.efConstruction = p.hnsw_ef_construction
        return index, {"hnsw_m": p.hnsw_m, "hnsw_ef_construction": p.hnsw_ef_construction}
    nlist = effective_nlist(n_train, p.ivf_nlist)
    quantizer = faiss.IndexFlatIP(dim)
    if kind == "ivf":
        return faiss.IndexIVFFlat(quantizer, dim, nlist, ip), {"ivf_nlist": nlist}
    if kind == "ivfpq":
        if dim % p.pq_m:
            raise ValueError(f"index.pq_m={p.pq_m} must divide the embedding dimension {dim}")
        if n_train < 2 ** p.pq_nbits:
            raise ValueError(f"index.kind=ivfpq needs at least {2 ** p.pq_nbits} chunks to train "
                             f"{p.pq_nbits}-bit codes, got {n_train}; use flat or hnsw")
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, p.pq_m, p.pq_nbits, ip)
        return index, {"ivf_nlist": nlist, "pq_m": p.pq_m, "pq_nbits": p.pq_nbits}
    raise ValueError(f"index.kind {kind!r} is not one of flat, hnsw, ivf, ivfpq")


def set_search_threads(p: "IndexParams") -> None:
    """FAISS's OpenMP thread count for searching (`index.faiss_threads`; 0 leaves it alone).
    Process-wide, like every OpenMP setting: the Retriever sets it, builds do not."""
    import faiss

    if p.faiss_threads > 0:
        faiss.omp_set_num_threads(p.faiss_threads)


def configure_search(index: Any, p: "IndexParams") -> Any:
    """Apply the query-time knobs (efSearch, nprobe) from params."""
    import faiss

    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = p.hnsw_ef_search
    try:
        faiss.extract_index_ivf(index).nprobe = p.ivf_nprobe
    except RuntimeError:
        pass  # not an IVF index
    return index


def build(vectors: "np.ndarray", kind: str, p: "IndexParams") -> tuple[Any, dict[str, Any]]:
    """Train (IVF kinds) and fill an index with `vectors` (rows = ids)."""
    index, knobs = make(kind, vectors.shape[1], len(vectors), p)
    if not index.is_trained:
        index.train(vectors)
    if len(vectors):
        index.add(vectors)
    return configure_search(index, p), knobs


def kind_of(index: Any) -> str:
    import faiss

    if isinstance(index, faiss.IndexFlat):
        return "flat"
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    return type(index).__name__


def search(index: Any, queries: "np.ndarray", k: int, ids: "np.ndarray | None" = None) -> tuple["np.ndarray", "np.ndarray"]:
    """(scores, ids) for a batch of queries, optionally restricted to `ids` (an id selector)."""
    import faiss
    import numpy as np

    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    if ids is None:
        return index.search(queries, k)
    sel = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    if hasattr(index, "hnsw"):
        sp = faiss.SearchParametersHNSW(sel=sel, efSearch=max(index.hnsw.efSearch, k))
    elif kind_of(index) in ("ivf", "ivfpq"):
        sp = faiss.SearchParametersIVF(sel=sel, nprobe=faiss.extract_index_ivf(index).nprobe)
    else:
        sp = faiss.SearchParameters(sel=sel)
    return index.search(queries, min(k, len(ids)), params=sp)


def stored_vectors(index: Any) -> "np.ndarray | None":
    """The float vectors a flat or HNSW-flat index holds, as a read-only numpy view (no copy);
    None for kinds that keep only codes (IVF, PQ). Exact scoring of a filtered set reads them
    here instead of from the mapped embeddings.npy, whose pages would add to the service's RSS
    while these are in memory anyway."""
    import faiss
    import numpy as np

    flat = faiss.downcast_index(index)
    if isinstance(flat, faiss.IndexHNSW):
        flat = faiss.downcast_index(flat.storage)
    if not isinstance(flat, faiss.IndexFlat) or flat.ntotal == 0:
        return None
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    view = np.asarray(view)
    view.flags.writeable = False
    return view
