"""Answer ids and POST /feedback against the real service (conftest.serve_env): the answer log
on disk, the 4xx shapes, concurrent posts, the Prometheus counter."""
from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from minutes.online.answer_log import sqlite_path
from minutes.serve.prometheus_text import metric_value

pytestmark = pytest.mark.slow


def stored(serve_env: dict[str, Any], sql: str, *args: Any) -> list[tuple]:
    """Rows read straight from the service's SQLite file (WAL lets a reader in while it runs)."""
    with sqlite3.connect(sqlite_path(serve_env["params"])) as db:
        return db.execute(sql, args).fetchall()


def test_ask_is_logged_with_what_it_read_and_cited(http: Any, serve_env: dict[str, Any]) -> None:
    a = http.post("/ask", json={"question": "What colour will   the remote control be?", "k": 3,
                                "meeting_id": "design01"}).json()
    [row] = stored(serve_env, "SELECT endpoint, question, meeting_id, mode, model_version, retrieved, cited, "
                              "latency_ms FROM answers WHERE answer_id = ?", a["answer_id"])
    endpoint, question, meeting, mode, version, retrieved, cited, latency = row
    assert (endpoint, question, meeting, mode, version) == ("ask", "What colour will the remote control be?",
                                                            "design01", "extractive", None)
    assert set(json.loads(cited)) == {s["chunk_id"] for s in a["sources"]} <= set(json.loads(retrieved))
    assert len(json.loads(retrieved)) == 3 and latency == a["latency_ms"]
    again = http.post("/ask", json={"question": "What colour will the remote control be?"}).json()
    assert again["answer_id"] != a["answer_id"]


def test_minutes_carry_an_id_in_json_and_markdown(http: Any, serve_env: dict[str, Any]) -> None:
    doc = http.post("/minutes", json={"meeting_id": "budget02"}).json()
    md = http.post("/minutes", json={"meeting_id": "budget02", "format": "markdown"})
    ids = [doc["answer_id"], md.headers["x-answer-id"]]
    assert ids[0] != ids[1]
    rows = dict(stored(serve_env, "SELECT answer_id, cited FROM answers WHERE endpoint = 'minutes' AND meeting_id = ?",
                       "budget02"))
    turns = {f"budget02:{c['idx']}" for s in ("summary", "decisions", "action_items") for i in doc[s] for c in i["cites"]}
    assert set(ids) <= set(rows) and set(json.loads(rows[ids[0]])) == turns
    flag = sorted(turns)[0]
    r = http.post("/feedback", json={"answer_id": ids[0], "rating": "down", "flags": [flag],
                                     "correction": "The chair did not adjourn."})
    assert r.status_code == 201, r.text
    assert stored(serve_env, "SELECT rating, flags, correction FROM feedback WHERE feedback_id = ?",
                  r.json()["feedback_id"]) == [("down", json.dumps([flag]), "The chair did not adjourn.")]


@pytest.mark.parametrize("body, status, words", [
    ({"answer_id": "0" * 32, "rating": "up"}, 404, "unknown answer_id"),
    ({"rating": "sideways"}, 422, "rating"),
    ({"rating": "up", "correction": "x" * 2001}, 413, "limit is 2000"),
    ({"rating": "up", "flags": ["design01#9999"]}, 422, "did not cite"),
    ({"answer_id": "../../etc", "rating": "up"}, 422, "32 hex"),
    ({"rating": "up", "flags": "design01#0000"}, 422, "flags"),
])
def test_bad_feedback_is_a_clear_4xx(http: Any, body: dict[str, Any], status: int, words: str) -> None:
    aid = http.post("/ask", json={"question": "Who will write the report?"}).json()["answer_id"]
    r = http.post("/feedback", json={"answer_id": aid, **body})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail and "/tmp" not in detail


def test_concurrent_feedback_is_all_stored_and_counted(url: str, http: Any, serve_env: dict[str, Any]) -> None:
    aid = http.post("/ask", json={"question": "What did the committee agree?"}).json()["answer_id"]
    before = metric_value(http.get("/metrics").text, "minutes_feedback_total", rating="down", model_version="none") or 0

    def post(n: int) -> list[int]:
        with httpx.Client(base_url=url, timeout=60) as c:
            return [c.post("/feedback", json={"answer_id": aid, "rating": "down" if i % 2 else "up",
                                              "correction": f"thread {n} post {i}"}).status_code for i in range(50)]

    with ThreadPoolExecutor(8) as pool:
        codes = [c for batch in pool.map(post, range(8)) for c in batch]
    assert codes == [201] * 400
    rows = stored(serve_env, "SELECT correction FROM feedback WHERE answer_id = ?", aid)
    assert sorted(r[0] for r in rows) == sorted(f"thread {n} post {i}" for n in range(8) for i in range(50))
    after = metric_value(http.get("/metrics").text, "minutes_feedback_total", rating="down", model_version="none")
    assert after == before + 200
