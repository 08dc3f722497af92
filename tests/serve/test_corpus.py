"""The service corpus: the mapped utterance table answers what the dicts of utterances.jsonl did."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from minutes.io import read_jsonl, write_jsonl
from minutes.serve.corpus import Corpus
from minutes.serve.utterance_store import UtteranceTable


def _utterances(seed: int = 3) -> list[dict]:
    """Three meetings written out of order, one row without `timing`, one turn of 30 KB."""
    rng = random.Random(seed)
    rows = []
    for mid, n in (("M2", 7), ("M1", 5), ("Z9", 3)):
        for i in range(n):
            row = {"meeting_id": mid, "idx": i, "speaker": rng.choice(["Ann", "Bob", "Cy"]),
                   "start": float(i * 3), "end": float(i * 3 + 2.5), "text": f"turn {i} of {mid}",
                   "source": "manual", "timing": "estimated", "domain": "Product", "split": "val"}
            rows.append(row)
    rows[3].pop("timing")
    rows[4]["text"] = "word " * 6000
    rng.shuffle(rows)
    return rows


def _as_dicts(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for u in rows:
        out.setdefault(u["meeting_id"], []).append(u)
    return {m: sorted(us, key=lambda u: u["idx"]) for m, us in out.items()}


def test_the_table_holds_every_utterance_as_written(tmp_path: Path) -> None:
    rows = _utterances()
    write_jsonl(tmp_path / "utterances.jsonl", rows)
    table = UtteranceTable.open(tmp_path / "utterances.jsonl", tmp_path / "cache")
    want = _as_dicts(rows)
    assert sorted(table.meeting_ids()) == sorted(want) and len(table) == 3
    for mid, us in want.items():
        assert table.rows(mid) == us
        assert table.span(mid, 1, 3) == [u for u in us if 1 <= u["idx"] <= 3]
        assert table.info(mid)["n_utterances"] == len(us)
        assert table.info(mid)["speakers"] == sorted({u["speaker"] for u in us})
    assert table.span("M1", 9, 12) == [] and table.span("nope", 0, 3) == []
    with pytest.raises(KeyError):
        table.rows("nope")


def test_ranges_across_chunks_and_dictionaries_read_as_written(tmp_path: Path) -> None:
    """The table's rows as `to_pylist` gives them (nulls left out), for every range, on a table
    of three chunks whose dictionary columns have different dictionaries and nulls: in memory,
    and mapped from its file with the spans read by pread."""
    import pyarrow as pa

    from minutes.index.store import open_ipc
    from minutes.serve.utterance_store import _stored_schema

    rows = sorted(_utterances(), key=lambda u: (u["meeting_id"], u["idx"]))
    rows[5]["speaker"] = None
    parts = [pa.Table.from_pylist(rows[a:z], schema=_stored_schema()) for a, z in ((0, 4), (4, 11), (11, 15))]
    table = pa.concat_tables(parts)
    assert table.column("speaker").num_chunks == 3
    path = tmp_path / "u.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table.unify_dictionaries())  # an IPC file holds one dictionary per column
    mapped = UtteranceTable(open_ipc(path), mapped_from=path)._reader
    assert mapped._pread is not None
    want = [{k: v for k, v in r.items() if v is not None} for r in table.to_pylist()]
    for reader in (UtteranceTable(table)._reader, mapped):
        for lo in range(len(want)):
            for hi in range(lo, len(want) + 1):
                assert reader.records(lo, hi) == want[lo:hi], (lo, hi)


def test_the_cached_table_follows_the_file(tmp_path: Path) -> None:
    """A second open maps the cache; a rewritten utterances.jsonl builds a new one."""
    path, cache = tmp_path / "utterances.jsonl", tmp_path / "cache"
    write_jsonl(path, _utterances())
    UtteranceTable.open(path, cache)
    first = sorted(cache.glob("*.arrow"))
    assert len(first) == 1
    assert UtteranceTable.open(path, cache).rows("Z9") == _as_dicts(read_jsonl(path))["Z9"]
    assert sorted(cache.glob("*.arrow")) == first
    write_jsonl(path, [u for u in _utterances() if u["meeting_id"] != "Z9"])
    os.utime(path, ns=(1, 1))
    again = UtteranceTable.open(path, cache)
    assert "Z9" not in again and sorted(cache.glob("*.arrow")) != first


def test_the_corpus_overlays_ingested_and_renamed_meetings(tmp_path: Path) -> None:
    rows = _utterances()
    write_jsonl(tmp_path / "etl" / "utterances.jsonl", rows)
    ingested = tmp_path / "serve" / "ingested"
    old = [{**u, "meeting_id": "old"} for u in _as_dicts(rows)["Z9"]]
    write_jsonl(ingested / "old.jsonl", old)
    corpus = Corpus.load(tmp_path / "etl", ingested)
    assert len(corpus) == 4 and "old" in corpus and "M1" in corpus and "nope" not in corpus
    corpus.add("new", [{**u, "meeting_id": "new"} for u in _as_dicts(rows)["M1"]])
    corpus.rename("M2", {"Ann": "Anna"})
    assert {u["speaker"] for u in corpus.utterances("M2")} <= {"Anna", "Bob", "Cy"}
    assert "Ann" not in {u["speaker"] for u in corpus.span("M2", 0, 99)}
    listed = {m["meeting_id"]: m for m in corpus.meetings()}
    assert sorted(listed) == ["M1", "M2", "Z9", "new", "old"]
    assert listed["new"]["source"] == listed["old"]["source"] == "ingested" and listed["M1"]["source"] == "manual"
    assert corpus.meeting("M1") == listed["M1"] and listed["M1"]["n_utterances"] == 5
    corpus.remove("new")
    assert "new" not in corpus and not (ingested / "new.jsonl").exists()


def test_a_quote_is_cited_from_its_own_turn_and_a_misaligned_one_is_searched(tmp_path: Path) -> None:
    from minutes.answer.extractive import Quote

    rows = _utterances()
    write_jsonl(tmp_path / "etl" / "utterances.jsonl", rows)
    corpus = Corpus.load(tmp_path / "etl", tmp_path / "serve" / "ingested")
    turn = next(u for u in _as_dicts(rows)["M2"] if u["idx"] == 5)
    hit = {"meeting_id": "M2", "chunk_id": "M2#0001", "utt_start": 3, "utt_end": 6, "score": 0.7,
           "start": 9.0, "end": 20.5, "speakers": ["Ann"], "text": "x"}
    got = corpus.cite_quote(hit, Quote(5, "turn 5 of M2"), "turn 5 of M2")
    assert got == corpus.cite(hit, "turn 5 of M2") == {
        "meeting_id": "M2", "chunk_id": "M2#0001", "speaker": turn["speaker"], "start": 15.0, "end": 17.5,
        "timing": "estimated", "text": "turn 5 of M2", "score": 0.7}
    # an index whose turn holds other words (the chunk's lines were not its turns): searched
    assert corpus.cite_quote(hit, Quote(4, "turn 5 of M2"), "turn 5 of M2") == got
    assert corpus.cite_quote(hit, Quote(None, "turn 5 of M2"), "turn 5 of M2") == got
