"""Speaker clustering of window embeddings: how many voices, and which window is which.

Agglomerative clustering (average linkage, cosine distance) stops merging at a distance
threshold, which estimates the number of speakers; a given number, or min/max bounds, fix it.
"""
from __future__ import annotations

import numpy as np


def context_mean(emb: np.ndarray, region_of: list[int], k: int) -> np.ndarray:
    """Each window's embedding averaged with up to `k` neighbours each side in the same speech
    region (renormalised): one window's d-vector is noisy, a speaker's voice changes slowly."""
    if k <= 0 or len(emb) == 0:
        return emb
    regions = np.asarray(region_of)
    out = np.empty_like(emb)
    for i in range(len(emb)):
        lo, hi = max(0, i - k), min(len(emb), i + k + 1)
        out[i] = emb[lo:hi][regions[lo:hi] == regions[i]].mean(axis=0)
    return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


def refine(emb: np.ndarray, labels: np.ndarray, iterations: int = 3) -> np.ndarray:
    """A few k-means steps from the clustering: each window goes to the nearest centroid (cosine),
    which fixes windows that average linkage attached through a mixed neighbour."""
    for _ in range(iterations):
        ids = np.unique(labels)
        cents = np.stack([emb[labels == i].mean(axis=0) for i in ids])
        cents /= np.linalg.norm(cents, axis=1, keepdims=True) + 1e-9
        new = ids[np.argmax(emb @ cents.T, axis=1)]
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _agglomerative(emb: np.ndarray, n_clusters: int | None, threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=n_clusters, distance_threshold=None if n_clusters else threshold,
                                    metric="cosine", linkage="average")
    return model.fit_predict(emb)


def _absorb_small(emb: np.ndarray, labels: np.ndarray, min_size: int, keep_at_least: int) -> np.ndarray:
    """Clusters of fewer than `min_size` windows (mixed windows at turn changes, coughs) join the
    cluster with the nearest centroid, while at least `keep_at_least` clusters remain."""
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= keep_at_least or counts.min() >= min_size:
            return labels
        small = ids[int(np.argmin(counts))]
        others = [i for i in ids if i != small]
        cents = np.stack([emb[labels == i].mean(axis=0) for i in others])
        cents /= np.linalg.norm(cents, axis=1, keepdims=True) + 1e-9
        labels[labels == small] = others[int(np.argmax(cents @ emb[labels == small].mean(axis=0)))]


def cluster_speakers(emb: np.ndarray, threshold: float, num_speakers: int | None = None,
                     min_speakers: int = 1, max_speakers: int = 16, min_cluster: int = 1) -> np.ndarray:
    """A cluster label per embedding row (0..k-1). `num_speakers` fixes k; otherwise k is where
    average cosine distance between clusters exceeds `threshold`, kept within the bounds.
    Clusters under `min_cluster` rows are absorbed unless the count was given."""
    n = len(emb)
    if n == 0:
        return np.zeros(0, dtype=int)
    if num_speakers is not None:
        if num_speakers < 1:
            raise ValueError(f"num_speakers must be at least 1, got {num_speakers}")
        k = min(num_speakers, n)
        if k == 1:
            return np.zeros(n, dtype=int)
        _, labels = np.unique(refine(emb, _agglomerative(emb, k, threshold)), return_inverse=True)
        return labels
    if min_speakers > max_speakers:
        raise ValueError(f"min_speakers ({min_speakers}) is above max_speakers ({max_speakers})")
    if n == 1:
        return np.zeros(1, dtype=int)
    labels = _absorb_small(emb, _agglomerative(emb, None, threshold), min_cluster, max(1, min_speakers))
    k = len(np.unique(labels))
    if k > max_speakers or k < min_speakers:
        k = min(max(k, min_speakers), max_speakers, n)
        labels = np.zeros(n, dtype=int) if k == 1 else _agglomerative(emb, k, threshold)
    _, labels = np.unique(refine(emb, labels), return_inverse=True)
    return labels
