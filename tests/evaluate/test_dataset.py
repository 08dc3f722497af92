"""What is scored: the split's queries, a stable sample, and the shared contexts."""
from __future__ import annotations

import pytest

from minutes import schema
from minutes.config import load_params
from minutes.evaluate import dataset
from minutes.io import write_jsonl


def _q(qid: str, split: str = "val", kind: str = "specific", answer: str = "a b c", meeting: str = "M1") -> dict:
    return {"query_id": qid, "meeting_id": meeting, "query": f"question {qid}", "answer": answer, "kind": kind,
            "spans": [[1, 2]] if kind == "specific" else [], "split": split, "domain": "Product"}


def _chunk(meeting: str, n: int) -> dict:
    return {"chunk_id": f"{meeting}#{n:04d}", "meeting_id": meeting, "domain": "Product", "utt_start": 3 * n,
            "utt_end": 3 * n + 2, "speakers": ["A"], "start": 10.0 * n, "end": 10.0 * n + 9, "text": f"A: chunk {n}"}


@pytest.fixture
def params(ci_overrides):
    return load_params("ci", ci_overrides)


def test_sample_is_stable_and_capped() -> None:
    qs = [_q(f"M1/specific/{i}") for i in range(10)]
    a, b = dataset.sample(qs, 4), dataset.sample(list(reversed(qs)), 4)
    assert [q["query_id"] for q in a] == [q["query_id"] for q in b] and len(a) == 4
    assert len(dataset.sample(qs, None)) == 10


def test_missing_queries_name_the_notebook(params) -> None:
    with pytest.raises(dataset.EvaluationDataMissing, match="run notebook 10_etl"):
        dataset.load_split_queries(params)


def test_missing_test_split_says_how_to_add_it(params) -> None:
    write_jsonl(params.stage_dir("etl") / schema.QUERIES, [_q("M1/specific/0")])
    assert len(dataset.load_split_queries(params, "val")) == 1
    with pytest.raises(dataset.EvaluationDataMissing, match="no queries of split 'test'.*data.qmsum.splits"):
        dataset.load_split_queries(params, "test")


def test_typical_answer_words_from_train_median_and_params(ci_overrides) -> None:
    params = load_params("ci", ci_overrides + ["evaluate.extractive_words.general=99"])
    write_jsonl(params.stage_dir("etl") / schema.QUERIES,
                [_q("a", "train", answer="w " * 10), _q("b", "train", answer="w " * 20),
                 _q("c", "train", answer="w " * 40), _q("d", "val", answer="w " * 500)])
    assert dataset.typical_answer_words(params) == {"general": 99, "specific": 20}


def test_build_contexts_uses_retrieval_for_questions_and_overview_for_minutes() -> None:
    chunks = {"M1": [_chunk("M1", n) for n in range(6)]}
    asked = []

    def retrieve(questions, meeting_ids, k):
        asked.append((questions, meeting_ids, k))
        return [[{**_chunk("M1", 4), "score": 0.9, "rank": 1}, {**_chunk("M1", 1), "score": 0.5, "rank": 2}]
                for _ in questions]

    queries = [_q("M1/specific/0"), _q("M1/general/0", kind="general"), _q("M2/specific/0", meeting="M2")]
    out = dataset.build_contexts(queries, chunks, retrieve, k=3)
    assert [c["query_id"] for c in out] == ["M1/specific/0", "M1/general/0"]  # M2 has no chunks
    assert asked == [(["question M1/specific/0"], ["M1"], 3)]
    specific, general = out
    assert specific["task"] == "answer" and [h["chunk_id"] for h in specific["hits"]] == ["M1#0004", "M1#0001"]
    assert general["task"] == "minutes"
    assert [h["chunk_id"] for h in general["hits"]] == ["M1#0000", "M1#0002", "M1#0005"]  # spread out


def test_build_contexts_checks_the_retriever() -> None:
    with pytest.raises(RuntimeError, match="returned 0 hit lists for 1 questions"):
        dataset.build_contexts([_q("M1/specific/0")], {"M1": [_chunk("M1", 0)]}, lambda q, m, k: [], k=2)


def test_retrieval_settings_default_to_training(ci_overrides) -> None:
    p = load_params("ci", ci_overrides)
    assert dataset.retrieval_settings(p) == {"method": p.train.retrieval_method, "k": p.train.retrieved_chunks,
                                             "within_meeting": True}
    p = load_params("ci", ci_overrides + ["evaluate.k=7", "evaluate.retrieval_method=bm25"])
    assert dataset.retrieval_settings(p)["k"] == 7 and dataset.retrieval_settings(p)["method"] == "bm25"
