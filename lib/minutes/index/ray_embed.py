"""Embedding a large corpus with Ray Data: one model replica per actor, batches streamed
through them (chameleon profile: actors on the GPU node). Selected by `index.ray_data`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import numpy as np

    from minutes.config import Params


class _EmbedActor:
    """Ray Data callable class: loads the embedder once per actor."""

    def __init__(self, index_params: dict[str, Any], cache_dir: str) -> None:
        from pathlib import Path

        from minutes.config.index import IndexParams
        from minutes.index.embed import load_embedder

        p = IndexParams.model_validate(index_params)
        self.batch_size = p.batch_size
        self.embedder = load_embedder(p, Path(cache_dir))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        vecs = self.embedder.encode(list(batch["text"]), batch_size=self.batch_size)
        return {"row": batch["row"], "vector": list(vecs)}


def embed_with_ray(params: "Params", texts: Sequence[str]) -> "np.ndarray":
    """Vectors for `texts` in input order, computed by `index.ray_concurrency` actors."""
    import numpy as np

    from minutes.index.embed import export_cache
    from minutes.platform.ray_runtime import init_ray

    ray = init_ray(params)
    p = params.index
    ds = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
    ds = ds.map_batches(_EmbedActor, fn_constructor_kwargs={
        "index_params": p.model_dump(mode="json"), "cache_dir": str(export_cache(params))},
        batch_size=max(p.batch_size, 16) * 4, concurrency=p.ray_concurrency,
        num_gpus=p.ray_gpus_per_actor or None, batch_format="numpy")
    rows = ds.take_all()
    if len(rows) != len(texts):
        raise RuntimeError(f"Ray Data returned {len(rows)} vectors for {len(texts)} chunks")
    out = np.zeros((len(texts), len(rows[0]["vector"]) if rows else 0), dtype=np.float32)
    for r in rows:  # actors finish out of order; rows carry their position
        out[int(r["row"])] = r["vector"]
    return out
