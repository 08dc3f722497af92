"""Build, search, filters, persistence, refusal of a mismatched index, incremental adds -
on the tiny corpus with the real packaged MiniLM and real FAISS."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from minutes import schema
from minutes.index import store
from minutes.index.bm25 import Bm25
from minutes.index.build import build_index
from minutes.index.chunks import ChunkError
from minutes.index.retriever import Retriever, UnknownMeeting
from tests.index import corpus
from tests.index.conftest import ci_params


def test_build_writes_a_version_with_its_manifest(built: dict[str, Any]) -> None:
    m = built["manifest"]
    assert m["cached"] is False and m["n_chunks"] == 12 and m["n_meetings"] == 3
    assert m["embedding_model"] == "packaged" and m["dim"] == 384 and m["metric"] == "inner_product"
    assert m["kind"] == "flat" and m["max_seq_length"] == 256 and len(m["model_fingerprint"]) == 16
    assert m["chunk_ids"][:2] == ["prod1#0000", "prod1#0001"] and len(m["data_hash"]) == 64
    folder = built["work"] / "index" / m["version"]
    assert {p.name for p in folder.iterdir()} == {store.INDEX_FILE, store.VECTORS_FILE, store.CHUNKS_FILE,
                                                  store.META_FILE, store.BM25_DIR}
    assert m["bm25"]["n"] == 12 and (m["bm25"]["k1"], m["bm25"]["b"]) == (1.5, 0.75)
    vectors = np.load(folder / store.VECTORS_FILE)
    assert vectors.shape == (12, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_unchanged_inputs_are_not_rebuilt(built: dict[str, Any]) -> None:
    again = build_index(built["params"], progress=False)
    assert again["cached"] is True and again["version"] == built["manifest"]["version"]


def test_missing_chunk_table_says_run_etl(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="10_etl"):
        build_index(ci_params(tmp_path / "work"), progress=False)


def test_dense_search_returns_ranked_hits_with_metadata(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    hits = r.search("battery life of the remote control", k=3)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["chunk_id"] == "prod1#0000"
    assert set(hits[0]) == set(schema.Hit.__annotations__)
    assert hits[0]["speakers"] == ["A", "B"] and hits[0]["utt_start"] == 0 and hits[0]["utt_end"] == 1
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0001


@pytest.mark.parametrize("method", ["dense", "bm25", "hybrid"])
def test_filters_restrict_every_method(built: dict[str, Any], embedder: Any, method: str) -> None:
    r = Retriever.open(built["params"], embedder)
    within = r.search("budget", k=10, meeting_id="comm1", method=method)
    assert len(within) == 4 and {h["meeting_id"] for h in within} == {"comm1"}
    dom = r.search("budget", k=10, domain="Product", method=method)
    assert {h["meeting_id"] for h in dom} == {"prod1"}
    assert r.search("budget", k=10, meeting_id="comm1", domain="Product", method=method) == []
    assert r.search("budget", k=10, domain="NoSuchDomain", method=method) == []


def test_unknown_meeting_is_a_clear_error(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    with pytest.raises(UnknownMeeting, match="'nope' is not in the index"):
        r.search("anything", meeting_id="nope")


def test_bad_arguments_are_refused(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    with pytest.raises(ValueError, match="method"):
        r.search("x", method="sparse")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be"):
        r.search("x", k=0)
    with pytest.raises(ValueError, match="2 meeting ids for 1 queries"):
        r.search_many(["x"], meeting_ids=["prod1", "acad1"])
    assert r.search_many([], k=3) == []


def test_bm25_and_hybrid_rank_the_keyword_chunk_first(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    for method in ("bm25", "hybrid"):
        hits = r.search("special educational needs assessments", k=5, method=method)
        assert hits[0]["chunk_id"] == "comm1#0002", method
    # Hybrid scores are reciprocal-rank sums: two first places give 2 / (rrf_k + 1).
    top = r.search("special educational needs assessments", k=1, method="hybrid")[0]
    assert top["score"] == pytest.approx(2 / (built["params"].index.rrf_k + 1))


def test_search_many_equals_single_searches(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    qs = [q["query"] for q in corpus.queries()]
    mids = [q["meeting_id"] for q in corpus.queries()]
    for method in ("dense", "hybrid"):
        batched = r.search_many(qs, k=3, meeting_ids=mids, method=method)
        single = [r.search(q, 3, meeting_id=m, method=method) for q, m in zip(qs, mids)]
        assert [[h["chunk_id"] for h in hs] for hs in batched] == [[h["chunk_id"] for h in hs] for hs in single]
        assert np.allclose([h["score"] for hs in batched for h in hs], [h["score"] for hs in single for h in hs],
                           atol=1e-5)


def test_meetings_lists_what_is_indexed(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    ms = {m["meeting_id"]: m for m in r.meetings()}
    assert set(ms) == {"prod1", "acad1", "comm1"}
    assert ms["acad1"] == {"meeting_id": "acad1", "domain": "Academic", "split": "val", "chunks": 4,
                           "utterances": 8, "speakers": ["A", "B"], "duration_s": 39.5}


def test_persistence_round_trip(tmp_path: Path) -> None:
    """What write_version writes is what read_current loads: the same vectors, chunk table,
    manifest and a FAISS index that holds the written vectors and answers like the original."""
    import faiss

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((6, 8)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(8)
    index.add(vectors)
    chunks = pd.DataFrame({"chunk_id": [f"m#{i:04d}" for i in range(6)], "text": [f"chunk {i}" for i in range(6)]})
    meta = {"chunk_ids": list(chunks["chunk_id"]), "dim": 8, "kind": "flat"}
    version = store.write_version(tmp_path / "index", index, vectors, chunks, meta)
    loaded = store.read_current(tmp_path / "index")
    assert loaded.version == version == "v0001"
    assert np.array_equal(loaded.vectors, vectors)
    pd.testing.assert_frame_equal(loaded.chunks, chunks)
    assert {k: loaded.meta[k] for k in meta} == meta
    assert loaded.index.ntotal == 6
    assert np.array_equal(loaded.index.reconstruct_n(0, 6), vectors)
    queries = rng.standard_normal((3, 8)).astype("float32")
    written_scores, written_ids = index.search(queries, 4)
    loaded_scores, loaded_ids = loaded.index.search(queries, 4)
    assert np.array_equal(loaded_ids, written_ids) and np.array_equal(loaded_scores, written_scores)
    assert loaded.bm25 is None and "bm25" not in loaded.meta  # written without one


def test_bm25_persists_with_its_version(tmp_path: Path) -> None:
    """The BM25 written with a version is loaded with it and scores like the one written."""
    import faiss

    texts = ["yellow rubber buttons", "battery life of the remote", "budget for the battery"]
    chunks = pd.DataFrame({"chunk_id": [f"m#{i:04d}" for i in range(3)], "text": texts})
    vectors = np.eye(3, 4, dtype="float32")
    index = faiss.IndexFlatIP(4)
    index.add(vectors)
    written = Bm25(texts, k1=1.2, b=0.5)
    store.write_version(tmp_path / "index", index, vectors, chunks,
                        {"chunk_ids": list(chunks["chunk_id"]), "dim": 4}, written)
    loaded = store.read_current(tmp_path / "index")
    assert loaded.bm25 is not None and loaded.meta["bm25"] == written.info()
    for q in ("battery", "rubber budget", "nothing here"):
        assert np.array_equal(loaded.bm25.scores(q), written.scores(q)), q
    with pytest.raises(ValueError, match="BM25 holds 2 chunks, the chunk table 3"):
        store.write_version(tmp_path / "index", index, vectors, chunks, {"chunk_ids": []}, Bm25(texts[:2]))


def test_opening_uses_the_stored_bm25(built: dict[str, Any], embedder: Any, monkeypatch: Any) -> None:
    r = Retriever.open(built["params"], embedder)
    assert r.snapshot.bm25 is not None
    monkeypatch.setattr(Bm25, "__init__", lambda *a, **k: pytest.fail("BM25 rebuilt instead of loaded"))
    assert r.search("special educational needs assessments", 1, method="bm25")[0]["chunk_id"] == "comm1#0002"


def test_other_bm25_parameters_rebuild_it_in_memory(built: dict[str, Any], embedder: Any) -> None:
    r = Retriever.open(ci_params(built["work"], "index.bm25_k1=0.9", "index.bm25_b=0.3"), embedder)
    scores = r.search("battery budget", 3, method="bm25")
    expected = Bm25(r.chunks()["text"], 0.9, 0.3).scores("battery budget")
    assert [h["score"] for h in scores] == pytest.approx(sorted(expected, reverse=True)[:3], abs=1e-6)


def test_opened_index_holds_the_corpus_embeddings(built: dict[str, Any], embedder: Any) -> None:
    """The retriever over the built index ranks like brute force over freshly embedded chunks."""
    r = Retriever.open(built["params"], embedder)
    chunks = r.chunks()
    fresh = np.asarray(embedder.encode(list(chunks["text"])))
    assert np.allclose(np.asarray(r.vectors()), fresh, atol=1e-5)
    q = "far-field microphone recordings"
    expected = [chunks["chunk_id"].iloc[i] for i in np.argsort(-(fresh @ np.asarray(embedder.encode([q]))[0]))[:5]]
    assert [h["chunk_id"] for h in r.search(q, 5)] == expected


def test_a_different_kind_in_params_is_refused(built: dict[str, Any]) -> None:
    with pytest.raises(store.IndexMismatch, match="kind: index has 'flat', params ask for 'hnsw'"):
        Retriever.open(ci_params(built["work"], "index.kind=hnsw"))


def test_a_different_model_is_refused(built: dict[str, Any], tiny_model: Path) -> None:
    from minutes.index.embed import TorchEmbedder

    with pytest.raises(store.IndexMismatch, match="embedding_model: index has 'packaged'"):
        Retriever.open(ci_params(built["work"], f"index.embedding_model={tiny_model}"))
    other = TorchEmbedder(str(tiny_model), "cpu", 256)
    with pytest.raises(store.IndexMismatch, match="rebuild the index with this model"):
        Retriever.open(built["params"], other)


def test_an_index_whose_parts_disagree_is_refused(copy_work: Any) -> None:
    params = copy_work()
    folder = params.stage_dir("index") / store.current_version(params.stage_dir("index"))
    table = store.read_table(folder)
    store.write_table(folder / store.CHUNKS_FILE, table.slice(0, len(table) - 1))
    with pytest.raises(store.IndexMismatch, match="disagree on the number of chunks"):
        Retriever.open(params)


def test_a_version_written_with_parquet_chunks_still_opens(copy_work: Any, built: dict[str, Any]) -> None:
    """Versions from before the Arrow chunk file keep working: same table, same hits."""
    params = copy_work()
    folder = params.stage_dir("index") / store.current_version(params.stage_dir("index"))
    arrow = Retriever.open(params)
    want = arrow.search("what did they decide about the remote control?", k=5, method="hybrid")
    store.to_pandas(store.read_table(folder)).to_parquet(folder / store.LEGACY_CHUNKS_FILE, index=False)
    (folder / store.CHUNKS_FILE).unlink()
    legacy = Retriever.open(params)
    assert legacy.search("what did they decide about the remote control?", k=5, method="hybrid") == want
    pd.testing.assert_frame_equal(legacy.chunks(), arrow.chunks())


def test_a_mapped_snapshot_gives_the_hits_and_table_of_a_read_one(built: dict[str, Any]) -> None:
    read, mapped = Retriever.open(built["params"]), Retriever.open(built["params"], mmap=True)
    query = "what did they decide about the remote control?"
    for meeting in (None, read.meeting_ids()[0]):
        assert mapped.search(query, k=8, meeting_id=meeting, method="hybrid") == \
            read.search(query, k=8, meeting_id=meeting, method="hybrid")
    mid = read.meeting_ids()[0]
    chunks = read.chunks()
    assert mapped.meeting_chunks(mid) == [
        {**row, "speakers": list(row["speakers"])} for row in chunks[chunks["meeting_id"] == mid].to_dict("records")]
    assert sorted(m["meeting_id"] for m in mapped.meetings()) == mapped.meeting_ids() == sorted(chunks["meeting_id"].unique())


def _no_path(message: str, *paths: Path) -> None:
    """An IndexMismatch message names versions and parts, never where they are."""
    assert not [p for p in paths if str(p) in message], message
    assert "/tmp" not in message and "/root" not in message, message


def test_mismatch_messages_name_what_disagrees_without_paths(built: dict[str, Any], tiny_model: Path,
                                                             copy_work: Any, caplog: pytest.LogCaptureFixture) -> None:
    from minutes.index.embed import TorchEmbedder

    version = built["manifest"]["version"]
    with pytest.raises(store.IndexMismatch) as err:
        Retriever.open(ci_params(built["work"], f"index.embedding_model={tiny_model}", "index.kind=hnsw"))
    message = str(err.value)
    assert f"index {version} was built for other parameters" in message
    assert f"params ask for '{tiny_model.name}'" in message and "params ask for 'hnsw'" in message
    _no_path(message, built["work"], tiny_model)
    with pytest.raises(store.IndexMismatch) as err:
        Retriever.open(built["params"], TorchEmbedder(str(tiny_model), "cpu", 256))
    assert f"the query embedder is {tiny_model.name} " in str(err.value)
    _no_path(str(err.value), built["work"], tiny_model)
    params = copy_work()
    folder = params.stage_dir("index") / version
    (folder / store.VECTORS_FILE).unlink()
    with caplog.at_level("ERROR", logger="minutes.index.store"), pytest.raises(store.IndexMismatch) as err:
        store.read_current(params.stage_dir("index"))
    assert str(err.value) == f"index version {version} is incomplete or unreadable: embeddings.npy is missing"
    assert str(folder) in caplog.text  # the where is in the log
    (folder / store.VECTORS_FILE).write_bytes(b"not numpy")
    with pytest.raises(store.IndexMismatch, match="embeddings.npy is unreadable") as err:
        store.read_current(params.stage_dir("index"))
    _no_path(str(err.value), params.work_dir)


def test_model_label_keeps_hub_ids_and_shortens_paths(tmp_path: Path) -> None:
    assert store.model_label("sentence-transformers/all-mpnet-base-v2") == "sentence-transformers/all-mpnet-base-v2"
    assert store.model_label(str(tmp_path / "models" / "minilm")) == "minilm"
    assert store.model_label("packaged") == "packaged" and store.model_label(None) == "?"


def test_no_index_yet_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="20_index"):
        Retriever.open(ci_params(tmp_path / "work"))


def test_incremental_add_equals_a_full_build(tmp_path: Path, built: dict[str, Any], embedder: Any) -> None:
    """Index two meetings, add the third: same chunks, vectors and rankings as building all three."""
    work = tmp_path / "work"
    corpus.write_etl(work, ["prod1", "acad1"])
    params = ci_params(work)
    first = build_index(params, progress=False)
    r = Retriever.open(params, embedder)
    out = r.add_chunks(corpus.chunks("comm1"))
    assert out == {"version": "v0002", "added_chunks": 4, "n_chunks": 12, "meetings": ["comm1"]}
    full = Retriever.open(built["params"], embedder)
    reopened = Retriever.open(params, embedder)
    for inc in (r, reopened):
        assert list(inc.chunks()["chunk_id"]) == [c for m in ("prod1", "acad1", "comm1")
                                                  for c in [x["chunk_id"] for x in corpus.chunks(m)]]
        assert set(inc.chunks()["chunk_id"]) == set(full.chunks()["chunk_id"])
        order = [list(full.chunks()["chunk_id"]).index(c) for c in inc.chunks()["chunk_id"]]
        assert np.allclose(np.asarray(inc.vectors()), np.asarray(full.vectors())[order], atol=1e-5)
        assert inc.manifest["data_hash"] != first["data_hash"]
        for q in corpus.queries():
            for method in ("dense", "bm25", "hybrid"):
                a = [h["chunk_id"] for h in inc.search(q["query"], 5, method=method)]
                b = [h["chunk_id"] for h in full.search(q["query"], 5, method=method)]
                assert a == b, (q["query"], method)
    assert reopened.manifest["added"] == [{"from_version": "v0001", "chunks": 4, "meetings": ["comm1"]}]
    # The old version stays readable for readers that resolved CURRENT before the swap.
    assert (params.stage_dir("index") / "v0001" / store.INDEX_FILE).is_file()


def test_add_only_embeds_the_new_chunks(copy_work: Any, embedder: Any) -> None:
    params = copy_work()
    r = Retriever.open(params, embedder)
    calls: list[int] = []
    real = embedder.encode

    class Counting:
        info = embedder.info

        def encode(self, texts: Any, **kw: Any) -> Any:
            calls.append(len(texts))
            return real(texts, **kw)

    r._embedder = Counting()  # count what add_chunks embeds
    new = [dict(c, chunk_id=c["chunk_id"].replace("prod1", "prod2"), meeting_id="prod2")
           for c in corpus.chunks("prod1")]
    r.add_chunks(new)
    assert calls == [4]
    assert {h["meeting_id"] for h in r.search("rubber buttons", 2, meeting_id="prod2")} == {"prod2"}


def test_an_added_meeting_is_found_by_bm25_and_dense(copy_work: Any, embedder: Any) -> None:
    """Ingest updates both rankers: words no other chunk holds are found by BM25 (and hybrid)
    across the corpus, and the meaning by dense; the new version on disk holds the new BM25."""
    params = copy_work()
    r = Retriever.open(params, embedder)
    new = [dict(c, chunk_id=f"zoo1#{i:04d}", meeting_id="zoo1", domain="Product", text=text)
           for i, (c, text) in enumerate(zip(corpus.chunks("prod1")[:2], [
               "A: The zebra enclosure needs a taller fence before the giraffes arrive.",
               "B: Penguins get a colder pool; the aquarium pumps are ordered."]))]
    assert r.search("zebra giraffes fence", 1, method="bm25")[0]["score"] == 0.0  # no chunk has the words yet
    r.add_chunks(new)
    for method in ("bm25", "hybrid"):
        assert r.search("zebra giraffes fence", 3, method=method)[0]["chunk_id"] == "zoo1#0000", method
    assert r.search("cold water for the penguins", 1, method="dense")[0]["chunk_id"] == "zoo1#0001"
    assert r.manifest["bm25"]["n"] == 14 == r.snapshot.bm25.n
    reopened = Retriever.open(params, embedder)
    assert reopened.snapshot.bm25 is not None and reopened.snapshot.bm25.n == 14
    assert reopened.search("aquarium pumps", 1, meeting_id="zoo1", method="bm25")[0]["chunk_id"] == "zoo1#0001"


def test_auto_serves_the_manifest_choice_per_setting(copy_work: Any, embedder: Any) -> None:
    params = copy_work()
    stage = params.stage_dir("index")
    r = Retriever.open(params, embedder)
    assert r.best_method("within") == r.best_method("corpus") == "dense"  # not evaluated yet
    store.annotate(stage, r.version, {store.BEST_METHODS: {"within": "hybrid", "corpus": "bm25"}})
    r = Retriever.open(params, embedder)
    assert (r.best_method("within"), r.best_method("corpus")) == ("hybrid", "bm25")
    q = "battery life of the remote control"
    assert r.search(q, 3, meeting_id="prod1", method="auto") == r.search(q, 3, meeting_id="prod1", method="hybrid")
    assert r.search(q, 3, method="auto") == r.search(q, 3, method="bm25")
    assert r.search(q, 3, method="auto") != r.search(q, 3, method="dense")  # dense scores are cosines
    mixed = r.search_many([q, q], 3, meeting_ids=[None, "prod1"], method="auto")
    assert mixed == [r.search(q, 3, method="bm25"), r.search(q, 3, meeting_id="prod1", method="hybrid")]
    # An explicit method overrides the manifest; the choice survives an add (copied to the next version).
    assert r.search(q, 3, method="dense")[0]["score"] <= 1.0001
    r.add_chunks([dict(c, chunk_id="new#0000", meeting_id="new") for c in corpus.chunks("acad1")[:1]])
    assert Retriever.open(params, embedder).best_method("corpus") == "bm25"
    with pytest.raises(ValueError, match="setting"):
        r.best_method("everywhere")


def test_the_service_default_is_auto() -> None:
    from minutes.config.serve import ServeParams

    assert ServeParams().retrieval_method == "auto"


def test_other_readers_pick_up_an_add(copy_work: Any, embedder: Any) -> None:
    params = copy_work()
    writer, reader = Retriever.open(params, embedder), Retriever.open(params, embedder)
    writer.add_chunks(pd.DataFrame([dict(c, chunk_id="new#0000", meeting_id="new")
                                    for c in corpus.chunks("acad1")[:1]]))
    with pytest.raises(UnknownMeeting):
        reader.search("x", meeting_id="new")
    assert reader.reload() is True and reader.reload() is False
    assert reader.search("speech recognizer errors", 1, meeting_id="new")[0]["chunk_id"] == "new#0000"


def test_adding_bad_or_duplicate_chunks_is_refused(copy_work: Any, embedder: Any) -> None:
    params = copy_work()
    r = Retriever.open(params, embedder)
    with pytest.raises(ValueError, match="already indexed"):
        r.add_chunks(corpus.chunks("prod1"))
    bad = [{k: v for k, v in c.items() if k != "text"} for c in corpus.chunks("prod1")]
    with pytest.raises(ChunkError, match="missing columns \\['text'\\]"):
        r.add_chunks(bad)
    swapped = [dict(c, chunk_id="x#1", utt_start=5, utt_end=2) for c in corpus.chunks("prod1")[:1]]
    with pytest.raises(ChunkError, match="utt_start > utt_end"):
        r.add_chunks(swapped)
    assert store.current_version(params.stage_dir("index")) == r.version == "v0001"


def test_opening_sets_the_faiss_search_threads(built: dict[str, Any], embedder: Any) -> None:
    import faiss

    faiss.omp_set_num_threads(2)
    Retriever.open(ci_params(built["work"], "index.faiss_threads=0"), embedder)
    assert faiss.omp_get_max_threads() == 2  # 0 leaves FAISS alone
    Retriever.open(built["params"], embedder)
    assert faiss.omp_get_max_threads() == built["params"].index.faiss_threads == 1


def test_renaming_speakers_keeps_vectors_and_updates_text_speakers_and_bm25(copy_work: Any, embedder: Any) -> None:
    """A rename rewrites the meeting's chunk texts and speakers (both names at once, so a swap
    works), leaves other meetings and every vector untouched, and BM25 finds the new name."""
    params = copy_work()
    r = Retriever.open(params, embedder)
    before, first = r.chunks().copy(), r.version
    vectors = np.array(r.vectors(), copy=True)
    assert r.search("Zanzibar", 1, method="bm25")[0]["score"] == 0.0
    out = r.rename_speakers("prod1", {"A": "Zanzibar", "B": "A"})
    assert out["chunks"] == 4 and out["version"] == r.version != first
    after = r.chunks()
    rows = (after["meeting_id"] == "prod1").to_numpy()
    old_lines = [line for t in before.loc[rows, "text"] for line in t.split("\n")]
    new_lines = [line for t in after.loc[rows, "text"] for line in t.split("\n")]
    swapped = {"A": "Zanzibar", "B": "A"}
    assert new_lines == [swapped.get(x.partition(": ")[0], x.partition(": ")[0]) + ": " + x.partition(": ")[2]
                         for x in old_lines]
    assert [list(s) for s in after.loc[rows, "speakers"]] == [
        [swapped.get(x, x) for x in s] for s in before.loc[rows, "speakers"]]
    assert after.loc[~rows].equals(before.loc[~rows])
    assert np.array_equal(np.asarray(r.vectors()), vectors)
    hit = r.search("Zanzibar", 1, method="bm25")[0]
    assert hit["meeting_id"] == "prod1" and "Zanzibar" in hit["speakers"] and hit["score"] > 0
    assert r.manifest["renamed"] == [{"from_version": first, "meeting_id": "prod1", "mapping": swapped}]
    reopened = Retriever.open(params, embedder)
    assert reopened.version == r.version and list(reopened.chunks()["text"]) == list(after["text"])
    with pytest.raises(UnknownMeeting):
        r.rename_speakers("nope", {"A": "B"})
