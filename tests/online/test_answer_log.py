"""The answer log (SQLite, WAL) and the feedback rules, without a server."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from minutes.config import load_params
from minutes.config.serve import AnswerLogParams
from minutes.online import feedback
from minutes.online.answer_log import AnswerRecord, SqliteAnswerLog, open_answer_log, sqlite_path
from minutes.online.records import ask_record, minutes_record
from minutes.serve.errors import ApiError


@pytest.fixture
def log(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = SqliteAnswerLog(tmp_path / "serve" / "answers.db")
    yield db
    db.close()


def an_answer(log: SqliteAnswerLog, cited: list[str] | None = None, version: str | None = "3") -> str:
    return log.record(AnswerRecord(endpoint="ask", mode="generative", latency_ms=12.5, question="Who pays?",
                                   model_version=version, retrieved=["m#0002", "m#0001", "m#0007"],
                                   cited=cited if cited is not None else ["m#0002", "m#0007"]))


def test_answers_survive_a_reopen_and_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    first = SqliteAnswerLog(path)
    aid = an_answer(first)
    first.add_feedback(aid, "down", "It was Bob.", ["m#0007"])
    first.close()
    again = SqliteAnswerLog(path)
    stored = again.answer(aid)
    assert stored is not None and stored["retrieved"] == ["m#0002", "m#0001", "m#0007"]
    assert stored["cited"] == ["m#0002", "m#0007"] and stored["model_version"] == "3" and stored["question"] == "Who pays?"
    rows = again.feedback(aid)
    assert [(r["rating"], r["correction"], r["flags"]) for r in rows] == [("down", "It was Bob.", ["m#0007"])]
    again.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_answer_ids_are_fresh_uuid_hex(log: SqliteAnswerLog) -> None:
    ids = {an_answer(log) for _ in range(20)}
    assert len(ids) == 20 and all(feedback.ANSWER_ID.fullmatch(i) for i in ids)
    assert log.answer("0" * 32) is None


def test_concurrent_feedback_loses_nothing(log: SqliteAnswerLog) -> None:
    """8 threads x 50 posts, each thread on its own connection: all 400 rows are there."""
    aids = [an_answer(log) for _ in range(8)]
    p = AnswerLogParams()
    start, errors, ids = threading.Barrier(8), [], []

    def post(n: int) -> None:
        start.wait()
        for i in range(50):
            try:
                ids.append(feedback.submit(log, p, aids[n], "up" if i % 3 else "down", f"t{n}-{i}",
                                           ["m#0002"])["feedback_id"])
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = log.feedback()
    assert len(rows) == 400 == len(set(ids))
    assert {r["correction"] for r in rows} == {f"t{n}-{i}" for n in range(8) for i in range(50)}
    assert sum(r["rating"] == "down" for r in rows) == 8 * len(range(0, 50, 3))


@pytest.mark.parametrize("kwargs, status, words", [
    ({"answer_id": "f" * 32}, 404, "unknown answer_id"),
    ({"answer_id": "not-an-id"}, 422, "32 hex"),
    ({"rating": "meh"}, 422, "'up' or 'down'"),
    ({"correction": "x" * 21}, 413, "limit is 20"),
    ({"flags": ["m#0001"]}, 422, "did not cite 'm#0001'"),
    ({"flags": ["m#0002", "a", "b"]}, 422, "(and 1 more)"),
    ({"flags": [f"m#{i:04d}" for i in range(4)]}, 413, "limit is 3"),
])
def test_bad_feedback_is_refused_clearly(log: SqliteAnswerLog, kwargs: dict, status: int, words: str) -> None:
    aid = an_answer(log)
    args = {"answer_id": aid, "rating": "up", **kwargs}
    with pytest.raises(ApiError) as err:
        feedback.submit(log, AnswerLogParams(max_correction_chars=20, max_flags=3), **args)
    assert err.value.status == status and words in err.value.message
    assert log.feedback() == []


def test_good_feedback_is_stored_with_cleaned_fields(log: SqliteAnswerLog) -> None:
    aid = an_answer(log, version=None)
    out = feedback.submit(log, AnswerLogParams(), aid, "down", "   ", ["m#0007", "m#0007"])
    assert out["model_version"] is None and out["rating"] == "down"
    [row] = log.feedback(aid)
    assert row["correction"] is None and row["flags"] == ["m#0007"] and row["feedback_id"] == out["feedback_id"]


def test_records_name_what_was_read_and_cited() -> None:
    hits = [{"chunk_id": "d#0001"}, {"chunk_id": "d#0003"}, {"chunk_id": "d#0001"}]
    resp = {"mode": "extractive", "model_version": None,
            "sources": [{"chunk_id": "d#0003"}, {"chunk_id": "d#0003"}, {"chunk_id": "d#0001"}]}
    rec = ask_record("q?", "d", resp, hits, 4.0)
    assert rec.retrieved == ["d#0001", "d#0003"] and rec.cited == ["d#0003", "d#0001"] and rec.meeting_id == "d"
    doc = {"summary": [{"cites": [{"idx": 4}, {"idx": 1}]}], "decisions": [{"cites": [{"idx": 4}]}],
           "action_items": [], "written_by": {"summary": "model", "decisions": "extractive"}, "model_version": "2"}
    m = minutes_record("d", doc, 9.0)
    assert m.cited == ["d:4", "d:1"] and m.mode == "generative" and m.model_version == "2" and m.question is None
    doc["written_by"] = {"summary": "extractive"}
    assert minutes_record("d", doc, 9.0).mode == "extractive"


def test_the_log_lives_under_the_work_dir_and_postgres_is_refused_clearly(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    params = load_params("ci", [f"work_dir={tmp_path}"])
    assert sqlite_path(params) == tmp_path / "serve" / "answers.db"
    opened = open_answer_log(params)
    opened.close()
    assert sqlite_path(params).is_file()
    pg = load_params("ci", [f"work_dir={tmp_path}", "serve.answer_log.backend=postgres"])
    monkeypatch.delenv("MINUTES_ANSWER_LOG_URL", raising=False)
    with pytest.raises(ValueError, match="MINUTES_ANSWER_LOG_URL"):
        open_answer_log(pg)
    monkeypatch.setenv("MINUTES_ANSWER_LOG_URL", "postgresql://u:secret@db/answers")
    with pytest.raises(NotImplementedError, match="backend=sqlite") as err:
        open_answer_log(pg)
    assert "secret" not in str(err.value)
