"""The validation report flags each kind of inconsistency between the ETL products."""
from minutes.data.validate import validate


def products():
    meetings = [{"meeting_id": "m1", "split": "train", "domain": "Product", "n_utterances": 3},
                {"meeting_id": "m2", "split": "val", "domain": "Committee", "n_utterances": 1}]
    utts = [{"meeting_id": m, "idx": i, "speaker": "A", "start": float(i), "end": i + 0.5, "text": t,
             "source": "manual", "timing": "estimated", "domain": d, "split": s}
            for m, d, s, texts in (("m1", "Product", "train", ["a b", "", "c d e"]), ("m2", "Committee", "val", ["f"]))
            for i, t in enumerate(texts)]
    queries = [{"query_id": "m1/specific/0", "meeting_id": "m1", "query": "q", "answer": "a", "kind": "specific",
                "spans": [[0, 2]], "split": "train", "domain": "Product"}]
    chunks = [{"chunk_id": "m1#0000", "meeting_id": "m1", "split": "train", "domain": "Product", "utt_start": 0,
               "utt_end": 2, "speakers": ["A"], "start": 0.0, "end": 2.5, "text": "A: a b\nA: c d e", "n_tokens": 12,
               "source": "manual"}]
    return meetings, utts, queries, chunks, {"train": ["m1"], "val": ["m2"], "test": []}


def test_consistent_products_pass_with_counts_and_lengths():
    r = validate(*products(), problems=[])
    assert r["ok"] and r["failed_checks"] == []
    assert r["counts"] == {"meetings": 2, "utterances": 4, "queries": 1, "chunks": 1, "empty_utterances": 1,
                           "problems": 0}
    assert r["per_domain"]["Product"] == {"meetings": 1, "utterances": 3, "empty_utterances": 1, "queries": 1,
                                          "chunks": 1}
    assert r["per_split"]["train"] == {"meetings": 1, "queries": 1}
    assert r["lengths"]["utterance_words"]["max"] == 3


def test_each_inconsistency_is_named():
    meetings, utts, queries, chunks, splits = products()
    queries.append(dict(queries[0], spans=[[2, 5]]))  # duplicate id and a span past the last turn
    chunks.append(dict(chunks[0], chunk_id="m1#0001", utt_end=7, text=" "))
    utts.append(dict(utts[0]))  # duplicate (meeting, idx)
    del utts[1]["speaker"]  # schema
    splits["val"].append("m1")  # in two splits
    r = validate(meetings, utts, queries, chunks, splits, problems=[{"file": "x.json", "reason": "bad"}])
    assert not r["ok"]
    assert set(r["failed_checks"]) == {"schema_utterances", "duplicate_utterance_ids", "duplicate_query_ids",
                                       "spans_out_of_bounds", "chunk_ranges_out_of_bounds", "meetings_in_two_splits",
                                       "empty_chunks"}
    assert "missing field 'speaker'" in r["checks"]["schema_utterances"][0]
    assert r["checks"]["spans_out_of_bounds"] == ["m1/specific/0: span [2, 5] outside 3 turns"]
    assert r["counts"]["problems"] == 1
