"""Library logging in notebooks: INFO and up goes to a log file, only WARNING and up to the output.

Archived notebooks should show what their cells print, not the faiss loader, absl, sentence-
transformers or httpx chatter; that chatter still matters when something goes wrong, so it is
kept in <run folder>/logs/<notebook>.log. Most libraries log through the root logger, which this
configures. A few (mlflow, optuna, ray) attach their own stderr handler at import and stop
propagation: their handlers are held at WARNING and their records forwarded to the log file,
right after they are imported (a post-import hook), since notebooks import them after start().
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import wrapt

from minutes.reports.scrub import scrub_text, secret_values

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
#: Libraries that give their loggers an own stderr handler when imported.
OWN_HANDLER_LIBRARIES = ("mlflow", "optuna", "ray", "ray.data", "ray.tune", "transformers", "datasets",
                         "huggingface_hub")


class _ScrubbingFormatter(logging.Formatter):
    """Masks secret environment values: the log file lies beside the scrubbed reports."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub_text(super().format(record), secret_values())


class _ToLogFile(logging.Handler):
    """Forwards a non-propagating library logger's records to the one log file handler
    (libraries may restyle their own handlers, so they never hold the file handler itself)."""

    def emit(self, record: logging.LogRecord) -> None:
        target = _state.file
        if target is not None and record.levelno >= target.level:
            target.handle(record)


@dataclass
class _State:
    """The handlers this module installed (replaced when start() runs again)."""

    file: logging.Handler | None = None
    stderr: logging.Handler | None = None
    forward: logging.Handler = field(default_factory=_ToLogFile)
    hooked: set[str] = field(default_factory=set)


_state = _State()


def _loggers() -> list[logging.Logger]:
    return [lg for lg in list(logging.root.manager.loggerDict.values()) if isinstance(lg, logging.Logger)]


def quiet_own_handlers(_module: object = None) -> None:
    """Hold every library's own console handlers at WARNING; send what they no longer show to the file."""
    for logger in _loggers():
        consoles = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)
                    and not isinstance(h, logging.FileHandler)]
        for h in consoles:
            if h.level < logging.WARNING:
                h.setLevel(logging.WARNING)
        if consoles and not logger.propagate and _state.forward not in logger.handlers:
            logger.addHandler(_state.forward)


def stop() -> None:
    """Remove and close the handlers `configure` installed (library handlers stay quiet)."""
    root = logging.getLogger()
    for handler in (_state.file, _state.stderr):
        if handler is not None:
            root.removeHandler(handler)
            handler.close()
    _state.file = _state.stderr = None


def configure(log_file: Path) -> Path:
    """Root logger: `log_file` at INFO and up, stderr at WARNING and up. Safe to call again
    (a re-run start cell replaces the handlers it installed before)."""
    stop()
    root = logging.getLogger()
    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    _state.file = logging.FileHandler(log_file, encoding="utf-8")
    _state.file.setLevel(logging.INFO)
    _state.file.setFormatter(_ScrubbingFormatter(FORMAT))
    _state.stderr = logging.StreamHandler(sys.stderr)
    _state.stderr.setLevel(logging.WARNING)
    _state.stderr.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(_state.file)
    root.addHandler(_state.stderr)
    root.setLevel(logging.INFO)
    quiet_own_handlers()
    for name in set(OWN_HANDLER_LIBRARIES) - _state.hooked:
        wrapt.register_post_import_hook(quiet_own_handlers, name)  # runs at once if already imported
        _state.hooked.add(name)
    return log_file
