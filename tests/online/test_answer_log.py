"""The answer log on both backends (SQLite in WAL mode; a real PostgreSQL server on loopback)
and the feedback rules, without a service."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from minutes import REPO_ROOT
from minutes.config import load_params
from minutes.config.serve import AnswerLogParams
from minutes.online import feedback
from minutes.online.answer_log import (AnswerLog, AnswerLogUnavailable, AnswerRecord, PostgresAnswerLog,
                                       SqliteAnswerLog, _redacted, open_answer_log, sqlite_path)
from minutes.online.records import ask_record, minutes_record
from minutes.serve.errors import ApiError
from minutes.platform import postgres_local as postgres

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], AnswerLog]]:
    """Opens another AnswerLog on one store (a SQLite file, or a fresh Postgres database with a
    pool of fewer connections than the tests' threads, so callers queue on it)."""
    if request.param == "sqlite":
        def make() -> AnswerLog:
            return SqliteAnswerLog(tmp_path / "serve" / "answers.db")
    else:
        url = request.getfixturevalue("postgres_url")

        def make() -> AnswerLog:
            return PostgresAnswerLog(url, pool_max_size=4)
    opened: list[AnswerLog] = []

    def tracked() -> AnswerLog:
        opened.append(make())
        return opened[-1]

    yield tracked
    for db in opened:
        db.close()


@pytest.fixture
def log(opener: Callable[[], AnswerLog]) -> AnswerLog:
    return opener()


def an_answer(log: AnswerLog, cited: list[str] | None = None, version: str | None = "3",
              question: str = "Who pays?") -> str:
    return log.record(AnswerRecord(endpoint="ask", mode="generative", latency_ms=12.5, question=question,
                                   model_version=version, retrieved=["m#0002", "m#0001", "m#0007"],
                                   cited=cited if cited is not None else ["m#0002", "m#0007"]))


def test_answers_survive_a_reopen(opener: Callable[[], AnswerLog]) -> None:
    first = opener()
    aid = an_answer(first)
    first.add_feedback(aid, "down", "It was Bob.", ["m#0007"])
    first.close()
    again = opener()
    stored = again.answer(aid)
    assert stored is not None and stored["retrieved"] == ["m#0002", "m#0001", "m#0007"]
    assert stored["cited"] == ["m#0002", "m#0007"] and stored["model_version"] == "3" and stored["question"] == "Who pays?"
    assert stored["latency_ms"] == 12.5 and isinstance(stored["created"], float)
    rows = again.feedback(aid)
    assert [(r["rating"], r["correction"], r["flags"]) for r in rows] == [("down", "It was Bob.", ["m#0007"])]


def test_the_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    SqliteAnswerLog(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_answer_ids_are_fresh_uuid_hex(log: AnswerLog) -> None:
    ids = {an_answer(log) for _ in range(20)}
    assert len(ids) == 20 and all(feedback.ANSWER_ID.fullmatch(i) for i in ids)
    assert log.answer("0" * 32) is None


def test_concurrent_writes_lose_nothing(log: AnswerLog) -> None:
    """8 threads x 50 feedback posts and 50 new answers each, at once (SQLite: a connection per
    thread; Postgres: 4 pooled connections): every row is there."""
    aids = [an_answer(log) for _ in range(8)]
    p = AnswerLogParams()
    start, errors, ids, new = threading.Barrier(8), [], [], []

    def post(n: int) -> None:
        start.wait()
        for i in range(50):
            try:
                ids.append(feedback.submit(log, p, aids[n], "up" if i % 3 else "down", f"t{n}-{i}",
                                           ["m#0002"])["feedback_id"])
                new.append(an_answer(log, question=f"q{n}-{i}"))
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
    assert len(set(new)) == 400 and all(log.answer(a)["question"].startswith("q") for a in new[::37])
    assert sum(v["answers"] for v in log.ratings_by_version().values()) == 408


def test_sqlite_writes_queued_together_commit_together_and_a_refused_one_fails_alone(tmp_path: Path) -> None:
    """The SQLite writer commits what is queued as one transaction, a savepoint per statement:
    feedback on an unknown answer (a foreign-key refusal) queued among good writes is refused
    with the database's own error, and every other write of that transaction is stored."""
    import sqlite3

    log = SqliteAnswerLog(tmp_path / "answers.db")
    aid = an_answer(log)
    hold = threading.Event()
    from minutes.online.answer_log import _Pending

    gate = _Pending("SELECT 1", ())
    original = log._commit

    def held(db, batch):  # the first transaction waits until everything else is queued
        if batch and batch[0] is gate:
            hold.wait(10)
        return original(db, batch)

    log._commit = held  # type: ignore[method-assign]
    log._queue.put(gate)
    results, errors = [], []

    def write(i: int) -> None:
        try:
            target = aid if i != 3 else "no-such-answer"
            results.append(log.add_feedback(target, "up", f"c{i}"))
        except sqlite3.IntegrityError as exc:
            errors.append((i, exc))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30  # a loaded CI box can take seconds to start six threads
    while log._queue.qsize() < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log._queue.qsize() == 6, "the six writes were not all queued behind the held commit"
    batches = []
    log._commit = lambda db, batch: (batches.append(len(batch)), held(db, batch))[1]  # type: ignore[method-assign]
    hold.set()
    for t in threads:
        t.join(10)
    assert [i for i, _ in errors] == [3] and "FOREIGN KEY" in str(errors[0][1])
    assert sorted(r["correction"] for r in log.feedback(aid)) == [f"c{i}" for i in range(6) if i != 3]
    assert len(results) == 5 and batches == [6]
    log.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        an_answer(log)


@pytest.mark.parametrize("kwargs, status, words", [
    ({"answer_id": "f" * 32}, 404, "unknown answer_id"),
    ({"answer_id": "not-an-id"}, 422, "32 hex"),
    ({"rating": "meh"}, 422, "'up' or 'down'"),
    ({"correction": "x" * 21}, 413, "limit is 20"),
    ({"flags": ["m#0001"]}, 422, "did not cite 'm#0001'"),
    ({"flags": ["m#0002", "a", "b"]}, 422, "(and 1 more)"),
    ({"flags": [f"m#{i:04d}" for i in range(4)]}, 413, "limit is 3"),
])
def test_bad_feedback_is_refused_clearly(log: AnswerLog, kwargs: dict, status: int, words: str) -> None:
    aid = an_answer(log)
    args = {"answer_id": aid, "rating": "up", **kwargs}
    with pytest.raises(ApiError) as err:
        feedback.submit(log, AnswerLogParams(max_correction_chars=20, max_flags=3), **args)
    assert err.value.status == status and words in err.value.message
    assert log.feedback() == []


def test_good_feedback_is_stored_with_cleaned_fields(log: AnswerLog) -> None:
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


def _scenario(log: AnswerLog) -> float:
    """Answers of two versions and extractive ones, /minutes too, ratings and corrections (the
    newest per answer counts; one before `since`); returns `since`."""
    a = an_answer(log, version="1", question="qa")
    b = an_answer(log, version="2", question="qb")
    c = an_answer(log, version=None, question="qc")
    m = log.record(AnswerRecord(endpoint="minutes", mode="generative", latency_ms=40.0, meeting_id="M",
                                model_version="2", cited=["M:1"]))
    log.add_feedback(a, "up")
    log.add_feedback(a, "down", "first try")
    log.add_feedback(b, "down", "old news")
    since = max(r["created"] for r in log.feedback()) + 1e-3
    while __import__("time").time() < since:
        pass
    log.add_feedback(a, "down", "second try")  # a's newest correction
    log.add_feedback(b, "up")
    log.add_feedback(m, "down", "minutes have no question: not a training pair")
    log.add_feedback(c, "down", None, ["m#0002"])
    d = an_answer(log, version="1", question="qd")
    log.add_feedback(d, "up", "fine, but say it shorter")
    return since


def _without_times(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without what differs by nature: timestamps and the fresh answer ids."""
    return [{k: v for k, v in r.items() if k not in ("created", "answer_id")} for r in rows]


def test_ratings_and_corrections_are_the_same_on_both_backends(tmp_path: Path, postgres_url: str) -> None:
    """One scenario on each backend: identical ratings_by_version and corrections (keys, order,
    value types; only the timestamps and the random answer ids differ)."""
    out = {}
    for name, log in (("sqlite", SqliteAnswerLog(tmp_path / "a.db")), ("postgres", PostgresAnswerLog(postgres_url))):
        try:
            since = _scenario(log)
            out[name] = {"ratings": log.ratings_by_version(), "ratings_since": log.ratings_by_version(since=since),
                         "ask_only": log.ratings_by_version(endpoints=("ask",)),
                         "corrections": log.corrections(), "corrections_since": log.corrections(since=since),
                         "feedback": log.feedback()}
        finally:
            log.close()
    lite, pg = out["sqlite"], out["postgres"]
    assert lite["ratings"] == {"1": {"answers": 2, "up": 2, "down": 2}, "2": {"answers": 2, "up": 1, "down": 2},
                               None: {"answers": 1, "up": 0, "down": 1}}
    assert lite["ratings_since"] == {"1": {"answers": 1, "up": 1, "down": 0}}
    assert lite["ask_only"]["2"] == {"answers": 1, "up": 1, "down": 1}
    assert [(r["question"], r["correction"]) for r in lite["corrections"]] == [
        ("qb", "old news"), ("qa", "second try"), ("qd", "fine, but say it shorter")]
    assert [r["correction"] for r in lite["corrections_since"]] == ["second try", "fine, but say it shorter"]
    for key in ("ratings", "ratings_since", "ask_only"):
        assert pg[key] == lite[key], key
    for key in ("corrections", "corrections_since", "feedback"):
        lite_rows, pg_rows = _without_times(lite[key]), _without_times(pg[key])
        assert [list(r) for r in pg[key]] == [list(r) for r in lite[key]], key  # same columns, same order
        assert [{k: type(v) for k, v in r.items()} for r in pg_rows] == \
            [{k: type(v) for k, v in r.items()} for r in lite_rows], key
        assert pg_rows == lite_rows, key
    assert all(isinstance(r["created"], float) for r in pg["corrections"] + pg["feedback"])


def test_the_log_lives_under_the_work_dir_and_postgres_needs_its_url(tmp_path: Path, postgres_url: str,
                                                                     postgres_server: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    params = load_params("ci", [f"work_dir={tmp_path}"])
    assert sqlite_path(params) == tmp_path / "serve" / "answers.db"
    opened = open_answer_log(params)
    opened.close()
    assert sqlite_path(params).is_file()
    pg = load_params("ci", [f"work_dir={tmp_path}", "serve.answer_log.backend=postgres",
                            "serve.answer_log.url_env=MINUTES_TEST_LOG_URL", "serve.answer_log.busy_timeout_s=3"])
    monkeypatch.delenv("MINUTES_TEST_LOG_URL", raising=False)
    with pytest.raises(ValueError, match="MINUTES_TEST_LOG_URL"):
        open_answer_log(pg)
    monkeypatch.setenv("MINUTES_TEST_LOG_URL", postgres_url)
    log = open_answer_log(pg)
    try:
        assert isinstance(log, PostgresAnswerLog)
        aid = an_answer(log)
        assert log.answer(aid)["question"] == "Who pays?"
    finally:
        log.close()


@pytest.mark.parametrize("bad", ["wrong-password", "malformed", "refused"])
def test_postgres_errors_never_show_the_url(postgres_server: Any, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path, bad: str) -> None:
    secret = "planted-Secret-7f3e"
    url = {"wrong-password": postgres_server.url(password=secret),
           "malformed": f"host=127.0.0.1 password={secret} port=notaport",
           "refused": f"postgresql://minutes:{secret}@127.0.0.1:1/minutes"}[bad]
    monkeypatch.setenv("MINUTES_TEST_LOG_URL", url)
    pg = load_params("ci", [f"work_dir={tmp_path}", "serve.answer_log.backend=postgres",
                            "serve.answer_log.url_env=MINUTES_TEST_LOG_URL", "serve.answer_log.busy_timeout_s=3"])
    with pytest.raises(AnswerLogUnavailable) as err:
        open_answer_log(pg)
    shown = str(err.value)
    assert "$MINUTES_TEST_LOG_URL" in shown and secret not in shown and url not in shown
    assert err.value.__suppress_context__ and secret not in repr(err.value.__cause__)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:pl%40nted@h/db", ["pl%40nted", "pl@nted"]),
    ("host=h password='s3cr et' user=u", ["s3cr et"]),
    ("postgresql://h/db?user=u&password=p4ss&sslmode=require", ["p4ss"]),
])
def test_redaction_covers_every_spelling_of_the_password(url: str, shown: list[str]) -> None:
    message = f"bad: {url} / " + " / ".join(shown)
    out = _redacted(message, url)
    assert url not in out and not [s for s in shown if s in out] and "<url>" in out


MINUTES_DB_SQL = REPO_ROOT / "ansible" / "roles" / "platform" / "files" / "postgres" / "minutes-db.sql"


def test_the_platform_script_makes_the_answer_logs_login_and_database(postgres_server: Any) -> None:
    """files/postgres/minutes-db.sql, as the platform compose's one-shot runs it (psql as the
    superuser, the password from the environment), on the real server: twice (idempotent, the
    second with a rotated password), then the answer log works as `minutes` in `minutes`."""
    def run_script(password: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "MINUTES_DB_PASSWORD"}
        env.update(PGHOST="127.0.0.1", PGPORT=str(postgres_server.port), PGUSER=postgres.ADMIN,
                   PGDATABASE="postgres", PGPASSWORD=postgres_server.password)
        if password is not None:
            env["MINUTES_DB_PASSWORD"] = password
        return subprocess.run([str(postgres_server.bin / "psql"), "--no-psqlrc", "-f", str(MINUTES_DB_SQL)],
                              env=env, capture_output=True, text=True, timeout=60)

    missing = run_script(None)
    assert missing.returncode != 0 and "MINUTES_DB_PASSWORD is not set" in missing.stderr
    for password in ("first-Pass-1", "rotated-Pass-2"):
        done = run_script(password)
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
    url = f"postgresql://minutes:rotated-Pass-2@127.0.0.1:{postgres_server.port}/minutes"
    log = PostgresAnswerLog(url)
    try:
        aid = an_answer(log)
        log.add_feedback(aid, "up")
        assert log.ratings_by_version() == {"3": {"answers": 1, "up": 1, "down": 0}}
    finally:
        log.close()
    with pytest.raises(AnswerLogUnavailable, match="password authentication failed"):
        PostgresAnswerLog(url.replace("rotated-Pass-2", "first-Pass-1"), timeout_s=3)
