"""Training pairs: gold chunks are always present for training, truncation keeps the budget."""
from __future__ import annotations

import pytest

from minutes.train.pairs import build_pairs, gold_chunks, load_queries, subsample
from tests.generate.fixtures import chunks, queries, scripted_retrieve, utterances, write_etl


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    from minutes.models import packaged_embedding_path

    return AutoTokenizer.from_pretrained(str(packaged_embedding_path()))


def _meeting():
    utts = utterances("M1")
    cs = chunks(utts)  # M1#0000: 0-2, #0001: 3-5, #0002: 6-8, #0003: 9-11
    return utts, cs


def test_gold_chunk_added_when_retrieval_misses_it(tok):
    utts, cs = _meeting()
    # the retriever ranks the two chunks without the span [7, 8] first
    retrieve = scripted_retrieve({"M1": [cs[3], cs[0], cs[1], cs[2]]})
    qs = [q for q in queries() if q["query_id"] == "M1/specific/0"]
    by_idx = {"M1": {u["idx"]: u for u in utts}}
    train = build_pairs(qs, {"M1": cs}, retrieve, tok, 256, 32, k=2, ensure_gold=True, utterances=by_idx)[0]
    assert "M1#0002" in train["chunk_ids"] and len(train["chunk_ids"]) == 2
    assert train["gold_chunk_ids"] == ["M1#0002"]
    assert train["gold_in_source"]
    # the gold chunk is cut to start one line before the span: utterance 6, not the chunk's 6..8 anyway
    assert "utterance 7 of M1" in train["source"]
    # val pairs keep plain retrieval: the gold chunk is not forced in
    val = build_pairs(qs, {"M1": cs}, retrieve, tok, 256, 32, k=2, ensure_gold=False)[0]
    assert val["chunk_ids"] == ["M1#0003", "M1#0000"]
    assert not val["gold_in_source"]


def test_gold_survives_truncation(tok):
    utts, cs = _meeting()
    long = dict(cs[3], text="Alice: " + " ".join(["filler"] * 400))
    retrieve = scripted_retrieve({"M1": [long, cs[0]]})
    qs = [q for q in queries() if q["query_id"] == "M1/specific/0"]
    pair = build_pairs(qs, {"M1": [cs[0], cs[1], cs[2], long]}, retrieve, tok, 96, 16, k=3,
                       ensure_gold=True, utterances={"M1": {u["idx"]: u for u in utts}})[0]
    assert len(tok(pair["source"])["input_ids"]) <= 96
    assert pair["gold_in_source"], pair["source"]
    assert len(tok(pair["target"], add_special_tokens=False)["input_ids"]) <= 16


def test_general_query_trains_minutes_on_spread_chunks(tok):
    _, cs = _meeting()
    qs = [q for q in queries() if q["kind"] == "general"]
    pair = build_pairs(qs, {"M1": cs}, scripted_retrieve({"M1": cs}), tok, 256, 32, k=2, ensure_gold=True)[0]
    assert pair["task"] == "minutes"
    assert pair["source"].startswith("Write the minutes")
    assert pair["chunk_ids"] == ["M1#0000", "M1#0003"]


def test_gold_chunks_order_by_overlap():
    _, cs = _meeting()
    assert [c["chunk_id"] for c in gold_chunks(cs, [[4, 7]])] == ["M1#0001", "M1#0002"]
    assert gold_chunks(cs, [[20, 30]]) == []


def test_queries_validated(tmp_path):
    write_etl(tmp_path, {"M1": "train", "M2": "val"})
    path = tmp_path / "etl" / "queries.jsonl"
    assert {q["split"] for q in load_queries(path, ["val"])} == {"val"}
    path.write_text('{"query_id": "x", "query": "q"}\n')
    with pytest.raises(ValueError, match=r"queries.jsonl:1: query record lacks \['meeting_id'"):
        load_queries(path)
    with pytest.raises(FileNotFoundError, match="10_etl"):
        load_queries(tmp_path / "nope.jsonl")


def test_subsample_keeps_minutes_share():
    items = [{"task": "minutes", "i": i} for i in range(10)] + [{"task": "answer", "i": i} for i in range(90)]
    picked = subsample(items, 20, seed=1)
    assert len(picked) == 20
    assert sum(p["task"] == "minutes" for p in picked) == 2
    assert subsample(items, 20, seed=1) == picked


def test_subsample_of_queries_keeps_general_share():
    """The study samples queries (kind general/specific) before it builds pairs."""
    items = [{"kind": "general", "i": i} for i in range(5)] + [{"kind": "specific", "i": i} for i in range(45)]
    picked = subsample(items, 10, seed=3)
    assert len(picked) == 10
    assert sum(p["kind"] == "general" for p in picked) == 1
