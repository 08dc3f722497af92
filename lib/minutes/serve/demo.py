"""The ipywidgets demo (notebook 60_demo): question box, meeting picker, answer with cited
sources (speaker, time), and a minutes button, all against the deployed service."""
from __future__ import annotations

import html
from typing import Any

from minutes.serve.client import Client, ServiceError


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def answer_html(answer: dict[str, Any]) -> str:
    """An answer and its sources as HTML (escaped: transcripts are user data)."""
    rows = "".join(
        f"<li><b>{html.escape(s['speaker'])}</b> <code>{html.escape(s['meeting_id'])} "
        f"{_clock(s['start'])}–{_clock(s['end'])}</code><br>{html.escape(s['text'])}</li>"
        for s in answer["sources"])
    version = f", model v{answer['model_version']}" if answer.get("model_version") else ""
    return (f"<div style='white-space:pre-wrap;background:#f4f6f8;padding:8px'>{html.escape(answer['answer'])}</div>"
            f"<p><i>{answer['mode']} answer{version}, {answer['latency_ms']:.0f} ms</i></p><ol>{rows}</ol>")


def build_ui(client: Client) -> Any:
    """The widget tree; returns a VBox to display."""
    import ipywidgets as w

    meetings = client.meetings()
    question = w.Text(placeholder="What did they decide about ...?", layout=w.Layout(width="60%"))
    picker = w.Dropdown(options=[("all meetings", "")] + [(f"{m['meeting_id']} ({m['domain']})", m["meeting_id"])
                                                          for m in meetings], description="meeting")
    ask_btn, minutes_btn = w.Button(description="Ask", button_style="primary"), w.Button(description="Minutes")
    out = w.HTML()

    def on_ask(_: Any) -> None:
        try:
            out.value = answer_html(client.ask(question.value, picker.value or None))
        except ServiceError as exc:
            out.value = f"<p style='color:#a00'>{html.escape(str(exc))}</p>"

    def on_minutes(_: Any) -> None:
        if not picker.value:
            out.value = "<p>Pick a meeting first.</p>"
            return
        try:
            out.value = f"<pre>{html.escape(client.minutes(picker.value, 'markdown'))}</pre>"
        except ServiceError as exc:
            out.value = f"<p style='color:#a00'>{html.escape(str(exc))}</p>"

    ask_btn.on_click(on_ask)
    minutes_btn.on_click(on_minutes)
    question.on_submit(on_ask)
    return w.VBox([w.HBox([question, picker]), w.HBox([ask_btn, minutes_btn]), out])
