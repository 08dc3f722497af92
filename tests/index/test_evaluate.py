"""The evaluation glue on the tiny corpus: per-query rows, tables, the budget curve, the
comparison with QMSum's locator, and the retrieval_metrics.json that notebook 40 reads."""
from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from minutes import cache
from minutes.index import evaluate as ev
from minutes.index import store
from minutes.index.retriever import Retriever
from minutes.io import read_json
from tests.index.conftest import ci_params


@pytest.fixture(scope="module")
def evaluated(built: dict[str, Any], embedder: Any) -> dict[str, Any]:
    params = built["params"]
    r = Retriever.open(params, embedder)
    queries = ev.load_queries(params, "val")
    weights = ev.utterance_weights(params, {q["meeting_id"] for q in queries})
    per_query = ev.evaluate(r, queries, weights, ev.all_ks(params), progress=False)
    return {"params": params, "retriever": r, "queries": queries, "weights": weights, "per_query": per_query}


def test_queries_and_weights_come_from_the_etl_products(evaluated: dict[str, Any]) -> None:
    assert [q["query_id"] for q in evaluated["queries"]] == [f"{m}/specific/{n}" for n, m in
                                                            enumerate(["acad1", "acad1", "comm1", "comm1"])]
    w = evaluated["weights"]["acad1"]
    assert len(w) == 8 and w[0] == 9.0  # "Our speech recognizer makes many errors on overlapping speech."


def test_one_row_per_method_setting_and_query(evaluated: dict[str, Any]) -> None:
    pq = evaluated["per_query"]
    assert len(pq) == 3 * 2 * 4
    assert set(pq["method"]) == {"dense", "bm25", "hybrid"} and set(pq["setting"]) == {"within", "corpus"}
    # Each gold span is exactly one chunk of the tiny corpus, and the queries are easy.
    assert pq["hit@1"].mean() >= 0.75 and (pq["hit@3"] == 1.0).all()
    # A meeting has 4 chunks: within it, k >= 4 covers the whole transcript.
    within = pq[pq["setting"] == "within"]
    assert (within["budget@5"] == 1.0).all() and (within["recall@5"] == 1.0).all()
    assert (within["budget@1"] <= 0.5).all()


def test_tables_curve_locator_and_saved_results(evaluated: dict[str, Any], built: dict[str, Any],
                                                copy_work: Any) -> None:
    params, pq = copy_work(), evaluated["per_query"]  # save writes into the index: a private copy
    ks = ev.all_ks(params)
    summary = ev.summary(pq, params.index.eval_ks)
    assert summary.loc[("dense", "within"), "queries"] == 4 and "ndcg@10" in summary
    assert set(ev.by_domain(pq).index.get_level_values("domain")) == {"Academic", "Committee"}
    curve = ev.budget_curve(pq, ks)
    assert len(curve) == 3 * len(ks) and curve["budget"].between(0, 1).all()
    locator = ev.locator_comparison(curve)
    assert set(locator.index) == {"dense", "bm25", "hybrid"}
    assert (locator["k_to_beat_locator_recall"] >= 1).all()
    result = ev.results(params, pq, curve, locator, built["manifest"])
    path = ev.save(params, result)
    assert path == params.stage_dir("index") / ev.METRICS_FILE
    saved = read_json(path)
    assert saved["n_queries"] == 4 and saved["index"]["kind"] == "flat" and saved["backends"] is None
    assert saved["headline"]["dense_within_hit@10"] == 1.0
    assert "dense_corpus_meeting@1" in saved["headline"] and "dense_within_k_to_beat_locator" in saved["headline"]
    # The best method per setting lands in the evaluated version's manifest, where `auto` reads it.
    best = ev.best_methods(pq)["methods"]
    assert saved["best_methods"]["methods"] == best and set(best) == {"within", "corpus"}
    meta = store.read_meta(params.stage_dir("index"))
    assert meta[store.BEST_METHODS] == best and meta["version"] == built["manifest"]["version"]
    assert meta[f"{store.BEST_METHODS}_measured"]["split"] == "val"
    assert Retriever.open(params, evaluated["retriever"].embedder).best_method("corpus") == best["corpus"]
    assert store.read_meta(built["params"].stage_dir("index")).get(store.BEST_METHODS) is None


def test_best_methods_by_recall_then_mrr_then_cost() -> None:
    rows = []
    for setting, figures in {"within": {"dense": (0.5, 0.4), "bm25": (0.6, 0.1), "hybrid": (0.7, 0.2)},
                             "corpus": {"dense": (0.3, 0.5), "bm25": (0.3, 0.5), "hybrid": (0.3, 0.4)}}.items():
        for method, (recall, mrr) in figures.items():
            rows += [{"setting": setting, "method": method, "recall@10": recall + d, "mrr": mrr} for d in (-0.1, 0.1)]
    best = ev.best_methods(pd.DataFrame(rows))
    # within: hybrid has the best recall; corpus: dense and bm25 tie on recall and MRR, bm25 is cheaper.
    assert best["methods"] == {"within": "hybrid", "corpus": "bm25"}
    assert best["figures"]["within"]["bm25"] == {"recall@10": 0.6, "mrr": 0.1} and best["metric"] == "recall@10"


def test_a_split_without_indexed_meetings_is_an_error(evaluated: dict[str, Any]) -> None:
    q = dict(evaluated["queries"][0], meeting_id="elsewhere")
    with pytest.raises(ValueError, match="no evaluation query has its meeting in the index"):
        ev.evaluate(evaluated["retriever"], [q], evaluated["weights"], [1], progress=False)


def test_compare_hits_and_latency_tables(evaluated: dict[str, Any]) -> None:
    from minutes.index import report

    q = evaluated["queries"][2]
    table = report.compare_hits(evaluated["retriever"], q, k=2)
    assert len(table) == 6 and (table.loc["bm25"]["gold"] == ["yes", ""]).all()
    lat = report.latency(evaluated["retriever"], [q["query"]], k=2, meeting_ids=[q["meeting_id"]])
    assert list(lat.index) == ["dense", "bm25", "hybrid"] and (lat["p95_ms"] > 0).all()


def test_the_evaluation_is_reused_until_something_it_depends_on_changes(evaluated: dict[str, Any],
                                                                        copy_work: Any, embedder: Any) -> None:
    params = copy_work()
    r = Retriever.open(params, embedder)
    queries, weights, ks = evaluated["queries"], evaluated["weights"], ev.all_ks(params)
    rows, info = ev.evaluate_cached(params, r, queries, weights, ks)
    assert not info["cached"]
    pd.testing.assert_frame_equal(rows, evaluated["per_query"])
    again, info2 = ev.evaluate_cached(params, r, queries, weights, ks)
    assert info2["cached"] and info2["key"] == info["key"]
    pd.testing.assert_frame_equal(again, rows)
    assert "reused" in ev.cache_note(info2, "evaluation")
    base = ev.evaluation_parts(params, r, queries, weights, ks, "evaluate")
    # Each dependency moves the key: the queries, the gold weights, the ks, the index parameters.
    changed = [ev.evaluation_parts(params, r, queries[:-1], weights, ks, "evaluate"),
               ev.evaluation_parts(params, r, queries, {**weights, "acad1": [0.0] * 8}, ks, "evaluate"),
               ev.evaluation_parts(params, r, queries, weights, ks[:-1], "evaluate"),
               ev.evaluation_parts(ci_params(params.work_dir, "index.bm25_k1=0.9"), r, queries, weights, ks, "evaluate")]
    keys = {cache.memo_key(p) for p in [base, *changed]}
    assert len(keys) == 5
    # A new index version (an ingest adds a meeting's chunks) is new data.
    r.add_chunks([{**r.chunks().iloc[0].to_dict(), "chunk_id": "acad1#new", "text": "A new budget line."}])
    assert cache.memo_key(ev.evaluation_parts(params, r, queries, weights, ks, "evaluate")) not in keys
