"""The web page at / in headless Chromium: ask with a meeting picked, read the cited answer,
get minutes, see an error shown (not a blank page) for a refused question."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest

from minutes.online.answer_log import sqlite_path
from tests.serve.browser import Browser, chromium_binary

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(chromium_binary() is None, reason="chromium is not installed")]


@pytest.fixture
def page(url: str, tmp_path: Path) -> Iterator[Browser]:
    with Browser(tmp_path / "profile") as b:
        b.open(url + "/")
        b.wait("document.querySelectorAll('#meeting option').length > 1")  # GET /meetings filled the picker
        yield b


def ask(b: Browser, question: str, meeting: str) -> str:
    b.eval(f"document.getElementById('question').value = {json.dumps(question)}")
    b.eval(f"document.getElementById('meeting').value = {json.dumps(meeting)}")
    b.eval("document.getElementById('ask').click()")
    return b.wait("['done', 'error'].includes(document.getElementById('result').dataset.state) "
                  "&& document.getElementById('result').dataset.state")


def test_page_asks_and_shows_cited_sources(page: Browser) -> None:
    options = page.eval("[...document.querySelectorAll('#meeting option')].map(o => o.value)")
    assert {"design01", "budget02", "speech03"} <= set(options)
    assert ask(page, "What colour will the remote control be?", "design01") == "done"
    assert "yellow" in page.eval("document.getElementById('answer').textContent").lower()
    assert page.eval("document.getElementById('meta').textContent").startswith("extractive answer")
    sources = page.eval("[...document.querySelectorAll('#sources li')].map(li => ({"
                        "who: li.querySelector('.who').textContent, when: li.querySelector('.when').textContent,"
                        "said: li.querySelector('.said').textContent}))")
    assert sources and all(s["when"].startswith("design01 ") for s in sources)
    assert any("yellow" in s["said"] for s in sources) and all(s["who"] for s in sources)


def test_page_rates_the_shown_answer(page: Browser, serve_env: dict[str, Any]) -> None:
    assert page.eval("document.getElementById('rate').hidden")  # nothing shown, nothing to rate
    assert ask(page, "Who will write the report to the minister?", "budget02") == "done"
    answer_id = page.eval("document.getElementById('rate').dataset.answerId")
    page.eval("document.getElementById('rate-down').click()")
    assert page.wait("['done', 'error'].includes(document.getElementById('rate').dataset.state) "
                     "&& document.getElementById('rate').dataset.state") == "done"
    assert page.eval("document.getElementById('rate-down').getAttribute('aria-pressed')") == "true"
    with sqlite3.connect(sqlite_path(serve_env["params"])) as db:
        rows = db.execute("SELECT f.rating, a.question FROM feedback f JOIN answers a USING (answer_id) "
                          "WHERE answer_id = ?", (answer_id,)).fetchall()
    assert rows == [("down", "Who will write the report to the minister?")]


def test_page_minutes_button(page: Browser) -> None:
    page.eval("document.getElementById('meeting').value = 'budget02'")
    page.eval("document.getElementById('minutes-btn').click()")
    page.wait("document.getElementById('result').dataset.state === 'done'")
    text = page.eval("document.getElementById('minutes').textContent")
    assert text.startswith("# Minutes: budget02") and "## Decisions" in text and "five percent" in text


def test_page_shows_the_api_error(page: Browser) -> None:
    assert ask(page, "     ", "") == "error"
    box = page.eval("({cls: document.getElementById('answer').className, "
                    "text: document.getElementById('answer').textContent})")
    assert box["cls"] == "error" and "empty" in box["text"]


def test_page_query_string_asks_on_load(url: str, tmp_path: Path) -> None:
    with Browser(tmp_path / "profile") as b:
        b.open(url + "/?q=How+much+will+school+funding+grow%3F&meeting=budget02")
        b.wait("document.getElementById('result').dataset.state === 'done'")
        assert "five percent" in b.eval("document.getElementById('answer').textContent")
        assert b.eval("document.getElementById('meeting').value") == "budget02"
