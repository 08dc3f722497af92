"""The ipywidgets demo (notebook 60_demo): question box, meeting picker, answer with cited
sources (speaker, time), and a minutes button, all against the deployed service.

Under papermill nobody clicks: `DemoUI.submit` fills the widgets and presses Ask in code, so the
archived report shows a real answer produced by the same callback a person would trigger.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from minutes.serve.client import Client, ServiceError


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def answer_html(answer: dict[str, Any]) -> str:
    """An answer and its sources as HTML (escaped: transcripts are user data)."""
    rows = "".join(
        f"<li><b>{html.escape(s['speaker'])}</b> <code>{html.escape(s['meeting_id'])} "
        f"{clock(s['start'])}–{clock(s['end'])}</code> <small>score {s['score']:.2f}</small>"
        f"<br>{html.escape(s['text'])}</li>"
        for s in answer["sources"])
    version = f", model v{answer['model_version']}" if answer.get("model_version") else ""
    return (f"<div style='white-space:pre-wrap;background:#f4f6f8;padding:8px'>{html.escape(answer['answer'])}</div>"
            f"<p><i>{answer['mode']} answer{version}, {answer['latency_ms']:.0f} ms</i></p><ol>{rows}</ol>")


def error_html(exc: Exception) -> str:
    return f"<p style='color:#a00'>{html.escape(str(exc))}</p>"


@dataclass
class DemoUI:
    """The widgets and their callbacks; `box` is what a notebook displays."""

    client: Client
    meetings: list[dict[str, Any]]
    widgets: dict[str, Any] = field(default_factory=dict)
    last: dict[str, Any] | None = None

    @property
    def box(self) -> Any:
        return self.widgets["box"]

    @property
    def output(self) -> str:
        """The answer panel's current HTML."""
        return self.widgets["out"].value

    def on_ask(self, _: Any = None) -> None:
        w = self.widgets
        try:
            self.last = self.client.ask(w["question"].value, w["picker"].value or None)
            w["out"].value = answer_html(self.last)
        except ServiceError as exc:
            self.last = None
            w["out"].value = error_html(exc)

    def on_minutes(self, _: Any = None) -> None:
        w = self.widgets
        if not w["picker"].value:
            w["out"].value = "<p>Pick a meeting first.</p>"
            return
        try:
            w["out"].value = f"<pre>{html.escape(self.client.minutes(w['picker'].value, 'markdown'))}</pre>"
        except ServiceError as exc:
            w["out"].value = error_html(exc)

    def submit(self, question: str, meeting_id: str | None = None) -> dict[str, Any] | None:
        """Type a question, pick a meeting and press Ask, in code; returns the answer (None on error)."""
        self.widgets["question"].value = question
        self.widgets["picker"].value = meeting_id or ""
        self.widgets["ask"].click()
        return self.last

    def press_minutes(self, meeting_id: str) -> str:
        self.widgets["picker"].value = meeting_id
        self.widgets["minutes"].click()
        return self.output


def build_ui(client: Client) -> DemoUI:
    """Build the widget tree against a running service."""
    import ipywidgets as w

    meetings = client.meetings()
    ui = DemoUI(client, meetings)
    question = w.Text(placeholder="What did they decide about ...?", layout=w.Layout(width="60%"))
    picker = w.Dropdown(options=[("all meetings", "")] + [(f"{m['meeting_id']} ({m['domain']})", m["meeting_id"])
                                                          for m in meetings], description="meeting")
    ask_btn = w.Button(description="Ask", button_style="primary")
    minutes_btn = w.Button(description="Minutes")
    out = w.HTML()
    ask_btn.on_click(ui.on_ask)
    minutes_btn.on_click(ui.on_minutes)
    ui.widgets = {"question": question, "picker": picker, "ask": ask_btn, "minutes": minutes_btn, "out": out,
                  "box": w.VBox([w.HBox([question, picker]), w.HBox([ask_btn, minutes_btn]), out])}
    return ui
