"""After nb.start(), library INFO goes to the notebook's log file and stays out of its output."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Iterator

import pytest

from minutes import notebook_logs
from minutes.notebook import start


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    notebook_logs.stop()
    root.setLevel(level)
    root.handlers[:] = handlers


def test_info_goes_to_the_log_file_and_warning_to_stderr(tmp_path: Path, ci_overrides: list[str],
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    ctx = start("10_etl", "ci", ci_overrides, tmp_path / "run")
    logging.getLogger("faiss.loader").info("Loading faiss with AVX2 support.")
    logging.getLogger("httpx").warning("retry budget for the registry is exhausted")
    err = capfd.readouterr().err
    assert "Loading faiss" not in err
    assert "retry budget for the registry is exhausted" in err
    assert ctx.log_file == tmp_path / "run" / "logs" / "10_etl.log"
    log = ctx.log_file.read_text()
    assert "faiss.loader INFO Loading faiss with AVX2 support." in log
    assert "httpx WARNING retry budget" in log


def test_outside_a_run_the_log_goes_to_the_work_dir(tmp_path: Path, ci_overrides: list[str]) -> None:
    ctx = start("20_index", "ci", ci_overrides, "")
    logging.getLogger("sentence_transformers").info("Load pretrained SentenceTransformer")
    assert ctx.log_file == ctx.params.work_dir / "logs" / "20_index.log"
    assert "Load pretrained SentenceTransformer" in ctx.log_file.read_text()


def test_a_library_with_its_own_stderr_handler_imported_after_start(
        tmp_path: Path, ci_overrides: list[str], capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Like optuna or ray: a handler on its own logger, no propagation, attached at import.
    (tmp_path / "loud_fake_lib.py").write_text(
        "import logging, sys\n"
        "log = logging.getLogger('loud_fake_lib')\n"
        "log.addHandler(logging.StreamHandler(sys.stderr))\n"
        "log.setLevel(logging.INFO)\n"
        "log.propagate = False\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "loud_fake_lib", raising=False)
    monkeypatch.setattr(notebook_logs, "OWN_HANDLER_LIBRARIES",
                        notebook_logs.OWN_HANDLER_LIBRARIES + ("loud_fake_lib",))
    ctx = start("30_train", "ci", ci_overrides, tmp_path / "run")
    import loud_fake_lib  # noqa: F401 - imported after start(), as notebooks do

    lib = logging.getLogger("loud_fake_lib")
    lib.info("Trial 0 finished with value 21.3")
    lib.warning("trial 1 pruned: loss is NaN")
    err = capfd.readouterr().err
    assert "Trial 0 finished" not in err
    assert "trial 1 pruned" in err
    log = ctx.log_file.read_text()
    assert "Trial 0 finished with value 21.3" in log and "trial 1 pruned" in log
    monkeypatch.delitem(sys.modules, "loud_fake_lib")


def test_secret_values_are_masked_in_the_log_file(tmp_path: Path, ci_overrides: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = start("50_deploy", "ci", ci_overrides, tmp_path / "run")
    monkeypatch.setenv("MINUTES_INGEST_TOKEN", "tok-made-after-start-0042")  # notebook 50 makes one late
    # a logger no other test configures (uvicorn's own is reconfigured by in-process servers)
    logging.getLogger("minutes.tests.late_secret").info("started with token tok-made-after-start-0042")
    log = ctx.log_file.read_text()
    assert "started with token ***" in log and "tok-made-after-start-0042" not in log


def test_start_twice_installs_one_set_of_handlers(tmp_path: Path, ci_overrides: list[str]) -> None:
    start("40_evaluate", "ci", ci_overrides, tmp_path / "run")
    ctx = start("40_evaluate", "ci", ci_overrides, tmp_path / "run")
    logging.getLogger("mlflow.tracking").info("registered version 3")
    assert ctx.log_file.read_text().count("registered version 3") == 1
