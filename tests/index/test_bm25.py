"""BM25 over chunks (bm25s score matrix) and reciprocal-rank fusion, on hand-made cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minutes.index.bm25 import Bm25, rrf

TEXTS = [
    "A: the remote control needs a bigger battery",
    "B: we discussed the budget for the marketing campaign",
    "C: {vocalsound} um yeah okay",
    "D: the battery of the remote was too small, battery life matters",
]


#: Three documents, worked by hand with k1 = 1.5, b = 0.75 (N = 3, avgdl = 8/3):
#:   idf(battery) = idf(campaign) = idf(poster) = ln(2.5 / 1.5) = 0.510826 (df 1);
#:   idf(remote) = idf(budget) = ln(1.5 / 2.5) < 0 (df 2), floored to 0.25 x mean idf
#:     = 0.25 x (3 x 0.510826 - 2 x 0.510826) / 5 = 0.0255413;
#:   K(d) = k1 (1 - b + b |d| / avgdl): 1.640625 for |d| = 3, 1.21875 for |d| = 2.
HAND = ["battery battery remote", "remote budget", "campaign budget poster"]


def test_scores_equal_bm25_worked_by_hand() -> None:
    bm = Bm25(HAND, k1=1.5, b=0.75)
    # d0: 0.510826 * 2 * 2.5 / (2 + 1.640625) + 0.0255413 * 2.5 / (1 + 1.640625)
    # d1: 0.0255413 * 2.5 / (1 + 1.21875)
    s = bm.scores("battery remote")
    assert s.tolist() == pytest.approx([0.725744, 0.028779, 0.0], abs=2e-6)
    assert np.argsort(-s, kind="stable").tolist() == [0, 1, 2]
    # d2: 0.0255413 * 2.5 / 2.640625 + 0.510826 * 2.5 / 2.640625; a repeated query term counts twice
    assert bm.scores("budget poster").tolist() == pytest.approx([0.0, 0.028779, 0.507804], abs=2e-6)
    assert bm.scores("remote remote").tolist() == pytest.approx([2 * 0.024181, 2 * 0.028779, 0.0], abs=2e-6)


def test_k1_and_b_change_the_scores_as_the_formula_says() -> None:
    # b = 0: no length normalisation, K = k1 = 1.2 for every document.
    bm = Bm25(HAND, k1=1.2, b=0.0)
    assert bm.scores("poster").tolist() == pytest.approx([0.0, 0.0, 0.510826 * 2.2 / 2.2], abs=2e-6)
    assert bm.scores("battery").tolist() == pytest.approx([0.510826 * 2 * 2.2 / 3.2, 0.0, 0.0], abs=2e-6)
    assert (bm.k1, bm.b) == (pytest.approx(1.2), 0.0)


def test_equals_rank_bm25_on_real_sentences() -> None:
    """rank-bm25's BM25Okapi (the ranker before bm25s) as an oracle, where it is installed."""
    rank_bm25 = pytest.importorskip("rank_bm25")
    from minutes.text import content_words

    texts = TEXTS + ["the budget of the remote control project", "", "battery battery budget yellow rubber"]
    oracle = rank_bm25.BM25Okapi([content_words(t) or ["\0empty"] for t in texts], k1=1.2, b=0.6)
    bm = Bm25(texts, k1=1.2, b=0.6)
    for q in ("battery life", "remote budget budget", "yellow campaign marketing", "nothing matches"):
        assert bm.scores(q).tolist() == pytest.approx(oracle.get_scores(content_words(q)).tolist(), abs=1e-5), q


def test_save_and_load_give_the_same_scores(tmp_path: Path) -> None:
    bm = Bm25(TEXTS, k1=1.3, b=0.5)
    bm.save(tmp_path / "bm25")
    loaded = Bm25.load(tmp_path / "bm25")
    assert (loaded.n, loaded.k1, loaded.b) == (4, pytest.approx(1.3), pytest.approx(0.5))
    assert loaded.info() == bm.info()
    for q in ("battery life", "budget marketing", "remote", "um"):
        assert np.array_equal(loaded.scores(q), bm.scores(q)), q
    assert np.array_equal(loaded.scores("battery", [3, 0]), bm.scores("battery")[[3, 0]])


def test_extended_equals_a_build_over_all_texts(tmp_path: Path) -> None:
    """An add tokenizes only the new chunks yet every score is the full build's (new words,
    changed IDFs and mean length included), also when extending a loaded BM25."""
    more = ["E: yellow rubber battery", "", "F: a campaign about the remote's battery battery"]
    full = Bm25(TEXTS + more, k1=1.2, b=0.7)
    Bm25(TEXTS, k1=1.2, b=0.7).save(tmp_path / "bm25")
    for base in (Bm25(TEXTS, k1=1.2, b=0.7), Bm25.load(tmp_path / "bm25")):
        grown = base.extended(more)
        assert grown.n == 7 and grown.info() == full.info()
        for q in ("battery", "yellow rubber", "campaign remote", "marketing budget", "um"):
            assert grown.scores(q).tolist() == pytest.approx(full.scores(q).tolist(), abs=1e-6), q
    assert base.n == 4  # the base is left as it was (readers of the old version still use it)


def test_a_bm25_folder_whose_parts_disagree_is_refused(tmp_path: Path) -> None:
    Bm25(TEXTS).save(tmp_path / "bm25")
    np.save(tmp_path / "bm25" / "token_offsets.npy", np.arange(3))
    with pytest.raises(ValueError, match="token ids do not match"):
        Bm25.load(tmp_path / "bm25")


def test_no_texts_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one chunk"):
        Bm25([])


def test_tags_and_stopwords_do_not_match() -> None:
    bm = Bm25(TEXTS)
    assert not bm.scores("vocalsound um yeah okay").any()  # text C holds nothing else
    assert bm.scores("Battery's <laugh> LIFE").tolist() == pytest.approx(bm.scores("battery's life").tolist())


def test_bm25_ranks_term_overlap() -> None:
    bm = Bm25(TEXTS)
    scores = bm.scores("battery life")
    assert scores.shape == (4,)
    assert int(np.argmax(scores)) == 3
    assert scores[1] == 0.0 and scores[2] == 0.0


def test_bm25_scores_a_subset_in_the_given_order() -> None:
    bm = Bm25(TEXTS)
    full = bm.scores("remote battery")
    sub = bm.scores("remote battery", [3, 0])
    assert sub.tolist() == pytest.approx([full[3], full[0]])


def test_query_of_only_stopwords_scores_zero() -> None:
    bm = Bm25(TEXTS)
    assert not bm.scores("um the yeah").any()
    assert bm.scores("the", [1, 2]).tolist() == [0.0, 0.0]


def test_rrf_by_hand() -> None:
    # dense: 1, 2, 3; bm25: 3, 1.  score(1) = 1/61 + 1/62, score(3) = 1/63 + 1/61, score(2) = 1/62
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert [row for row, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_rrf_ties_keep_first_appearance() -> None:
    assert [r for r, _ in rrf([[5, 6], [6, 5]], k=60)] == [5, 6]


def _random_texts(rng: np.random.Generator, n: int) -> list[str]:
    words = ["battery", "remote", "budget", "yellow", "rubber", "campaign", "design", "speech", "screen", "price"]
    return [" ".join(rng.choice(words, int(rng.integers(0, 8)))) for _ in range(n)]


def test_top_is_the_full_ranking_cut_at_k(tmp_path: Path) -> None:
    """`top` ranks from postings alone, in memory and read by pread, yet gives exactly the stable
    full sort of `scores` (unmatched chunks, score 0, fill the ranking in row order)."""
    from minutes.index.ranking import top_k

    rng = np.random.default_rng(11)
    texts = _random_texts(rng, 120)
    bm = Bm25(texts, k1=1.2, b=0.75)
    bm.save(tmp_path / "bm25")
    preads = Bm25.load(tmp_path / "bm25", mmap=True)
    assert preads.postings._files  # the service's load reads postings positionally
    queries = ["battery", "remote budget budget", "yellow price screen", "nothing matches", "speech design battery"]
    for q in queries:
        full = bm.scores(q)
        assert np.array_equal(preads.scores(q), full), q
        for rows in (None, np.arange(30, 55), np.sort(rng.choice(120, 17, replace=False))):
            cand = np.arange(120) if rows is None else rows
            for k in (1, 5, 10, 60, 200):
                want = top_k(full[cand], cand, k)
                for b in (bm, preads):
                    got = b.top(q, k, rows)
                    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist(), (q, k)


def test_loaded_postings_refuse_a_file_that_does_not_match(tmp_path: Path) -> None:
    bm = Bm25(TEXTS)
    bm.save(tmp_path / "bm25")
    np.save(tmp_path / "bm25" / "data.csc.index.npy", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="not the 1-d postings array"):
        Bm25.load(tmp_path / "bm25", mmap=True)
