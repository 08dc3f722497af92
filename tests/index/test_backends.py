"""The optional engines of the index, for real: the int8 ONNX and OpenVINO embedders, Ray Data embedding,
the MLflow run of notebook 20, and the other FAISS kinds through the stage."""
from __future__ import annotations

import socket
from typing import Any

import numpy as np
import pytest

from minutes.index import store
from minutes.index.build import build_index
from minutes.index.retriever import Retriever
from tests.index import corpus


def test_changing_the_index_kind_reuses_the_vectors(copy_work: Any, embedder: Any) -> None:
    flat_params = copy_work()
    flat = Retriever.open(flat_params, embedder)
    work = flat_params.work_dir
    from tests.index.conftest import ci_params

    for kind in ("hnsw", "ivf"):
        params = ci_params(work, f"index.kind={kind}")
        m = build_index(params, progress=False)
        assert m["kind"] == kind and m["cached"] is False and m["index"]["reused_vectors"] is True
        r = Retriever.open(params, embedder)
        assert np.array_equal(np.asarray(r.vectors()), np.asarray(flat.vectors()))
        for q in corpus.queries():
            assert r.search(q["query"], 1)[0]["chunk_id"] == flat.search(q["query"], 1)[0]["chunk_id"]
    with pytest.raises(ValueError, match="ivfpq needs at least 256 chunks"):
        build_index(ci_params(work, "index.kind=ivfpq", "index.pq_m=8"), progress=False)
    # The refused build left the last good version in place.
    assert store.read_meta(params.stage_dir("index"))["kind"] == "ivf"


def test_a_rebuild_over_changed_chunks_embeds_only_the_changed_texts(copy_work: Any, embedder: Any) -> None:
    """The content-addressed cache: a chunk table with one text changed and one chunk dropped
    embeds one text; every vector equals the embedder's own."""
    import pandas as pd

    from minutes import schema

    params = copy_work()
    path = params.stage_dir("etl") / schema.CHUNKS
    df = pd.read_parquet(path).iloc[:-1].copy()
    df.loc[0, "text"] = df.loc[0, "text"] + " (edited)"
    df.to_parquet(path, index=False)
    m = build_index(params, progress=False)
    assert m["cached"] is False and m["index"]["reused_vectors"] is False
    assert m["counts"]["embedded"] == 1 and m["counts"]["vectors_from_cache"] == len(df) - 1
    got = np.asarray(Retriever.open(params, embedder).vectors())
    np.testing.assert_allclose(got, embedder.encode(list(df["text"])), atol=1e-5)


@pytest.mark.slow
def test_exported_backends_keep_the_vectors_and_the_rankings(built: dict[str, Any], embedder: Any) -> None:
    from minutes.index.backends import compare_backends, fastest_kept
    from minutes.index import evaluate as ev
    from minutes.index.embed import embedder_for

    params = built["params"]
    texts = [c["text"] for m in corpus.MEETINGS for c in corpus.chunks(m)]
    for backend, floor in (("onnx-int8", 0.97), ("openvino", 0.999)):
        other = embedder_for(params, backend)  # exported into the work dir's cache, reused below
        assert other.info.key == embedder.info.key and other.info.backend == backend
        cos = np.sum(other.encode(texts, batch_size=5) * embedder.encode(texts), axis=1)
        assert cos.min() > floor, (backend, cos)
        # Opening the index with it is allowed: same model, same vector space.
        assert Retriever.open(params, other).search("teachers pay rise", 1)[0]["chunk_id"] == "comm1#0001"
    base = Retriever.open(params, embedder)
    queries = ev.load_queries(params, "val")
    weights = ev.utterance_weights(params, {q["meeting_id"] for q in queries})
    out = compare_backends(params, base, queries, weights, [1, 3, 10], progress=False)
    f = out["figures"]
    for pre in ("onnx_int8", "openvino"):
        assert f[f"{pre}_speedup"] > 0 and f[f"{pre}_cosine_to_torch_mean"] > 0.97
        assert f[f"{pre}_within_recall@10_retained"] == pytest.approx(1.0)
        # its questions against the torch index, in both settings (what serve.query_backend does)
        assert f[f"{pre}_queries_within_recall@10_retained"] == pytest.approx(1.0)
        assert f[f"{pre}_queries_corpus_recall@10_retained"] > 0.9
        assert 0 < f[f"{pre}_query_ms"] and 0 < f["torch_query_ms"]
    assert f["openvino_cosine_to_torch_min"] > 0.999
    assert set(out["table"].index.get_level_values("label")) == {
        "torch", "onnx-int8", "openvino", "torch queries, torch index", "onnx-int8 queries, torch index",
        "openvino queries, torch index"}
    assert f["fastest_kept_backend"] == fastest_kept(f, ["onnx-int8", "openvino"])


def test_the_fastest_backend_that_keeps_the_recall_is_chosen() -> None:
    from minutes.index.backends import fastest_kept

    f = {"torch_chunks_per_s": 5.0, "onnx_int8_chunks_per_s": 6.0, "onnx_int8_within_recall@10_retained": 0.98,
         "openvino_chunks_per_s": 15.0, "openvino_within_recall@10_retained": 0.995}
    assert fastest_kept(f, ["onnx-int8", "openvino"]) == "openvino"
    assert fastest_kept({**f, "openvino_within_recall@10_retained": 0.97}, ["onnx-int8", "openvino"]) == "torch"
    assert fastest_kept({**f, "onnx_int8_within_recall@10_retained": 1.0, "openvino_chunks_per_s": 4.0},
                        ["onnx-int8", "openvino"]) == "onnx-int8"


def test_batches_hold_the_token_budget_and_cover_every_row() -> None:
    from minutes.index.onnx_export import PooledEncoder

    enc = PooledEncoder()
    enc.max_batch_tokens = 100
    lengths = [50, 10, 30, 10, 20, 40, 5]
    batches = enc.batches(lengths, batch_size=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3 and len(b) * max(lengths[i] for i in b) <= 100
    assert [lengths[b[0]] for b in batches] == sorted(lengths[b[0]] for b in batches)  # by length


@pytest.mark.slow
def test_ray_data_embedding_matches_local(built: dict[str, Any], embedder: Any, tmp_path: Any) -> None:
    from minutes.index.ray_embed import embed_with_ray
    from minutes.platform.ray_runtime import shutdown_ray
    from tests.index.conftest import ci_params

    params = ci_params(tmp_path / "work", "index.ray_data=true", "ray.num_cpus=1")
    texts = [c["text"] for c in corpus.chunks("acad1")]
    try:
        vecs = embed_with_ray(params, texts)
    finally:
        shutdown_ray()
    assert vecs.shape == (4, 384)
    assert np.allclose(vecs, embedder.encode(texts), atol=1e-4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_figures_land_in_an_mlflow_run_of_the_index_experiment(tmp_path: Any) -> None:
    import mlflow

    from minutes.index import evaluate as ev
    from minutes.platform.mlflow_server import stop_server
    from tests.index.conftest import ci_params

    params = ci_params(tmp_path / "work", f"mlflow.port={_free_port()}")
    artifact = tmp_path / "retrieval_metrics.json"
    artifact.write_text('{"headline": {}}')
    try:
        run_id = ev.log_mlflow(params, {"dense_within_recall@10": 0.5, "dense_within_mrr": 0.25}, [artifact])
        run = mlflow.get_run(run_id)
        exp = mlflow.get_experiment(run.info.experiment_id)
        arts = [a.path for a in mlflow.MlflowClient().list_artifacts(run_id)]
    finally:
        stop_server(params)
    assert exp.name == "index"
    assert run.data.metrics == {"dense_within_recall_at_10": 0.5, "dense_within_mrr": 0.25}
    assert run.data.params["index.kind"] == "flat" and run.data.tags["stage"] == "index"
    assert arts == ["retrieval_metrics.json"]


def test_the_export_tokenizer_encodes_as_transformers_does(built: dict[str, Any]) -> None:
    """The exported backends tokenize with `tokenizers` alone (transformers would bring torch into
    the service): ids, masks and type ids equal AutoTokenizer's, truncation and padding included."""
    from transformers import AutoTokenizer

    from minutes.index.embed import embedder_for
    from minutes.index.onnx_export import TOKENIZER_DIR, pad

    other = embedder_for(built["params"], "onnx-int8")
    folder = other.folder / TOKENIZER_DIR
    texts = ["Teachers asked for a pay rise.", "", "Ünïcode — naïve café 漢字 {vocalsound}",
             "word " * (other.max_seq_length + 40), "A: the remote\nB: yes, the battery"]
    reference = AutoTokenizer.from_pretrained(str(folder))
    want = reference.pad(reference(texts, truncation=True, max_length=other.max_seq_length), return_tensors="np")
    got = pad(other.tokenizer.encode_batch(texts))
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert np.array_equal(got[name], want[name]), name
    assert got["input_ids"].shape[1] == other.max_seq_length  # the long text was cut, the rest padded
