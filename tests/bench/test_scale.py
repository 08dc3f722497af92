"""The scale benchmark end to end on a tiny state (500 chunks of real QMSum turns): the state
opens as a live index with the stand-in embedder, the real service starts on it and answers
/ask within a meeting and across the corpus; the memory arithmetic and the plot."""
from __future__ import annotations

from pathlib import Path

import pytest

from minutes.bench import scale
from minutes.config import load_params

pytestmark = pytest.mark.skipif(not any((load_params("local").data.qmsum.path / "train").glob("*.json")),
                                reason="QMSum is not at data.qmsum.path")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    return scale.ensure_state(500, tmp_path_factory.mktemp("scale"), "flat")


def test_state_is_a_live_index_the_retriever_opens(tiny: tuple[Path, dict]) -> None:
    from minutes.index.retriever import Retriever

    work, info = tiny
    assert info["chunks"] == 500 and info["meetings"] == 13 and info["reused"] is False  # 40 chunks a meeting
    r = Retriever.open(scale.state_params(work, "flat"))
    chunks = r.chunks()
    assert len(chunks) == 500 and chunks["meeting_id"].nunique() == 13
    text = chunks["text"].iloc[123]
    for method in ("dense", "bm25", "hybrid"):  # a chunk's own text finds it first
        assert r.search(text, 3, method=method)[0]["chunk_id"] == chunks["chunk_id"].iloc[123], method
    hits = r.search("budget", 5, meeting_id="syn00002", method="hybrid")
    assert hits and {h["meeting_id"] for h in hits} == {"syn00002"}
    assert scale.ensure_state(500, work.parent, "flat")[1]["reused"] is True


def test_the_real_service_answers_on_the_state(tiny: tuple[Path, dict]) -> None:
    work, info = tiny
    payloads = scale.payload_sets(info["meetings"], 16)
    assert not {p["question"] for p in payloads["within"]} & {p["question"] for p in payloads["corpus"]}
    rows = scale.measure_service(work, 500, "flat", "hybrid", payloads, requests=10, warmup=4)
    assert [r["setting"] for r in rows] == ["within", "corpus"]
    for r in rows:
        assert r["requests"] == 10 and r["errors"] == 0 and r["index_chunks"] == 500
        assert r["mode"] == "extractive" and r["repeated_questions"] == 0
        assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] and r["rss_bytes"] > 0


def test_memory_rows_and_plot(tmp_path: Path) -> None:
    mib = 2**20
    sizes = [{"chunks": 100, "kind": "flat", "vectors_bytes": 1 * mib, "rss_bytes": 502 * mib, "anon_bytes": 301 * mib},
             {"chunks": 1100, "kind": "flat", "vectors_bytes": 11 * mib, "rss_bytes": 532 * mib}]
    first, second = scale.memory_rows(sizes)
    # the vectors count once (the index's copy: the service reads no other)
    assert first["bytes_per_chunk_beyond_vectors"] == round(501 * mib / 100)
    assert first["anon_bytes_per_chunk_beyond_vectors"] == round(300 * mib / 100)
    assert "anon_bytes_per_chunk_beyond_vectors" not in second
    assert second["vectors_mb"] == 11.0
    # (532 - 11) - (502 - 1) = 20 MiB over 1000 more chunks
    assert second["marginal_bytes_per_chunk_beyond_vectors"] == round(20 * mib / 1000)
    rows = [{"chunks": n, "method": m, "setting": s, "p95_ms": 1.0 + n / 1000}
            for n in (1000, 10000) for m in scale.METHODS for s in scale.SETTINGS]
    path = scale.plot(rows, tmp_path / "scale.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kind_follows_size_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINUTES_BENCH_SCALE_KIND", raising=False)
    assert scale.kind_for(10_000) == "flat" and scale.kind_for(100_000) == scale.kind_for(1_000_000) == "hnsw"
    monkeypatch.setenv("MINUTES_BENCH_SCALE_KIND", "ivf")
    assert scale.kind_for(10_000) == "ivf"


def test_anonymous_bytes_reads_this_process() -> None:
    import os

    import psutil

    anon = scale.anonymous_bytes(os.getpid())
    if not Path("/proc/self/smaps_rollup").exists():
        assert anon is None
        return
    assert anon is not None and 0 < anon <= psutil.Process().memory_info().rss


def test_evict_drops_a_state_from_the_page_cache(tiny: tuple[Path, dict]) -> None:
    import shutil
    import subprocess

    work, _ = tiny
    chunks = next(work.glob("index/v*/chunks.arrow"))
    assert scale.evict(work) >= 3
    if shutil.which("fincore"):
        res = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(chunks)],
                             capture_output=True, text=True, check=True).stdout
        assert int(res.split()[0]) < chunks.stat().st_size // 2
