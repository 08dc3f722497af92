"""The one storage layer of answers and their feedback: SQLite in WAL mode on local and ci, the
platform's Postgres on chameleon (same interface; open_answer_log refuses it for now, clearly).

Each thread gets its own SQLite connection (a connection is not safe to share across threads),
and every write is a `BEGIN IMMEDIATE` transaction: writers queue on the database lock (waiting
up to `busy_timeout_s`, also across processes) instead of failing or losing a row.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

if TYPE_CHECKING:
    from minutes.config import Params

RATINGS = ("up", "down")
Rating = Literal["up", "down"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    endpoint TEXT NOT NULL CHECK (endpoint IN ('ask', 'minutes')),
    question TEXT,
    meeting_id TEXT,
    mode TEXT NOT NULL,
    model_version TEXT,
    retrieved TEXT NOT NULL,
    cited TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL REFERENCES answers (answer_id),
    created REAL NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    correction TEXT,
    flags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id);
"""


def new_answer_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class AnswerRecord:
    """One answer as logged. `cited` holds the ids feedback may flag: a /ask source's chunk_id,
    a /minutes citation's `<meeting_id>:<idx>` (see minutes.online.records)."""

    endpoint: Literal["ask", "minutes"]
    mode: str
    latency_ms: float
    question: str | None = None
    meeting_id: str | None = None
    model_version: str | None = None
    retrieved: list[str] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    answer_id: str = field(default_factory=new_answer_id)
    created: float = field(default_factory=time.time)


class AnswerLog(ABC):
    """Answers and feedback, durable once a call returns; safe to call from many threads."""

    @abstractmethod
    def record(self, rec: AnswerRecord) -> str:
        """Store an answer; returns its answer_id."""

    @abstractmethod
    def answer(self, answer_id: str) -> dict[str, Any] | None:
        """The stored answer (lists decoded), or None for an unknown id."""

    @abstractmethod
    def add_feedback(self, answer_id: str, rating: Rating, correction: str | None = None,
                     flags: list[str] | None = None) -> int:
        """Store one feedback row for a stored answer (checked by the caller); returns its id."""

    @abstractmethod
    def feedback(self, answer_id: str | None = None) -> list[dict[str, Any]]:
        """Feedback rows, oldest first, of one answer or of all."""

    @abstractmethod
    def ratings_by_version(self, since: float | None = None, endpoints: tuple[str, ...] = ("ask", "minutes")
                           ) -> dict[str | None, dict[str, int]]:
        """{model_version: {"answers", "up", "down"}} over answers given since `since` (a time.time();
        None: all), for the canary and the retraining trigger. Version None: extractive answers."""

    @abstractmethod
    def corrections(self, since: float | None = None) -> list[dict[str, Any]]:
        """The newest correction per answer (feedback with a correction text), oldest first, with
        the answer's question, meeting_id, retrieved chunk ids and model version."""

    @abstractmethod
    def close(self) -> None: ...


class SqliteAnswerLog(AnswerLog):
    def __init__(self, path: Path, synchronous: str = "NORMAL", busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.synchronous = synchronous
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we open transactions ourselves; check_same_thread=False only so
            # close() can close every thread's connection (each is used by its own thread alone).
            db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA foreign_keys=ON")
            db.row_factory = sqlite3.Row
            self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _write(self) -> "SqliteAnswerLog._Tx":
        return self._Tx(self._conn())

    def record(self, rec: AnswerRecord) -> str:
        with self._write() as db:
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rec.answer_id, rec.created, rec.endpoint, rec.question, rec.meeting_id, rec.mode,
                        rec.model_version, json.dumps(rec.retrieved), json.dumps(rec.cited), rec.latency_ms))
        return rec.answer_id

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT * FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["retrieved"], out["cited"] = json.loads(out["retrieved"]), json.loads(out["cited"])
        return out

    def add_feedback(self, answer_id: str, rating: Rating, correction: str | None = None,
                     flags: list[str] | None = None) -> int:
        if rating not in RATINGS:  # the table's CHECK would refuse it too, less clearly
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        with self._write() as db:
            cur = db.execute("INSERT INTO feedback (answer_id, created, rating, correction, flags) "
                             "VALUES (?, ?, ?, ?, ?)", (answer_id, time.time(), rating, correction,
                                                        json.dumps(list(flags or []))))
            return int(cur.lastrowid or 0)

    def feedback(self, answer_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM feedback", ()
        if answer_id is not None:
            sql, args = sql + " WHERE answer_id = ?", (answer_id,)
        rows = [dict(r) for r in self._conn().execute(sql + " ORDER BY feedback_id", args)]
        for r in rows:
            r["flags"] = json.loads(r["flags"])
        return rows

    def ratings_by_version(self, since: float | None = None, endpoints: tuple[str, ...] = ("ask", "minutes")
                           ) -> dict[str | None, dict[str, int]]:
        marks = ", ".join("?" * len(endpoints))
        where = f"a.endpoint IN ({marks})" + (" AND a.created >= ?" if since is not None else "")
        args: tuple[Any, ...] = (*endpoints, *(() if since is None else (since,)))
        sql = (f"SELECT a.model_version AS v, COUNT(DISTINCT a.answer_id) AS answers, "
               f"SUM(f.rating = 'up') AS up, SUM(f.rating = 'down') AS down "
               f"FROM answers a LEFT JOIN feedback f ON f.answer_id = a.answer_id WHERE {where} "
               f"GROUP BY a.model_version")
        return {r["v"]: {"answers": int(r["answers"]), "up": int(r["up"] or 0), "down": int(r["down"] or 0)}
                for r in self._conn().execute(sql, args)}

    def corrections(self, since: float | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT a.answer_id, a.question, a.meeting_id, a.model_version, a.retrieved, f.correction, "
               "f.rating, MAX(f.feedback_id) AS feedback_id, f.created FROM feedback f "
               "JOIN answers a ON a.answer_id = f.answer_id "
               "WHERE f.correction IS NOT NULL AND a.endpoint = 'ask' AND a.question IS NOT NULL"
               + (" AND f.created >= ?" if since is not None else "")
               + " GROUP BY a.answer_id ORDER BY feedback_id")
        rows = [dict(r) for r in self._conn().execute(sql, () if since is None else (since,))]
        for r in rows:
            r["retrieved"] = json.loads(r["retrieved"])
        return rows

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for db in conns:
            db.close()
        self._local = threading.local()


def sqlite_path(params: "Params") -> Path:
    return params.stage_dir("serve") / params.serve.answer_log.sqlite_file


def open_answer_log(params: "Params") -> AnswerLog:
    """The answer log the parameters name (serve.answer_log)."""
    p = params.serve.answer_log
    if p.backend == "postgres":
        url = os.environ.get(p.url_env, "")
        if not url:
            raise ValueError(f"serve.answer_log.backend is postgres but the environment variable {p.url_env} "
                             "(the database URL) is not set")
        # The platform's Postgres (chameleon): not implemented in this offline workspace, which has
        # neither a Postgres server nor a driver to test against.
        raise NotImplementedError("the Postgres answer log is not implemented yet; "
                                  "set serve.answer_log.backend=sqlite")
    return SqliteAnswerLog(sqlite_path(params), p.synchronous, p.busy_timeout_s)
