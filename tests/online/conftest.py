"""A real service for the online tests: tests/serve's tiny corpus and real index, with questions
in three domains (train and val), `python -m minutes.serve` under uvicorn on a loopback port of
tests/online/ports.py. No MLflow server: the service answers extractively (its registry watch
fails and says so in /readyz), which is what the simulator's figures are about."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from minutes import schema
from minutes.config import load_params
from minutes.io import write_jsonl
from minutes.platform.processes import Service
from minutes.platform import postgres_local as postgres
from tests.online.ports import free_port
from tests.serve.conftest import write_corpus

#: (meeting, domain, split, question, gold answer): Product and Academic are in-domain, Committee
#: is the held-back domain (monitor.held_back_domain)
QUESTIONS = [
    ("design01", "Product", "train", "What material did the designer suggest for the case?", "a rubber case"),
    ("design01", "Product", "train", "Which colour do young people want?", "bright colours, mostly yellow"),
    ("design01", "Product", "train", "What battery will the remote use?", "a normal double A battery"),
    ("design01", "Product", "val", "What case did they choose?", "a rubber case in yellow with a scroll wheel"),
    ("design01", "Product", "val", "What is the price limit?", "under twenty five euros"),
    ("design01", "Product", "val", "Who will send the drawings of the case?", "the project manager"),
    ("speech03", "Academic", "train", "What word error rate did the acoustic model reach?", "twelve percent"),
    ("speech03", "Academic", "train", "Which data did they train on?", "the meeting recorder data"),
    ("speech03", "Academic", "val", "Which microphones are harder?", "the far field microphones"),
    ("speech03", "Academic", "val", "What did they decide about the features?", "use the new features from now on"),
    ("budget02", "Committee", "val", "How much will school funding grow?", "five percent"),
    ("budget02", "Committee", "val", "What do the schools in the north need?", "more funding for teachers and books"),
    ("budget02", "Committee", "train", "Until when is the meeting adjourned?", "until Tuesday"),
]


def write_queries(etl: Path) -> None:
    rows = [{"query_id": f"{mid}/specific/{i}", "meeting_id": mid, "query": q, "answer": a, "kind": "specific",
             "spans": [[0, 0]], "split": split, "domain": domain}
            for i, (mid, domain, split, q, a) in enumerate(QUESTIONS)]
    write_jsonl(etl / schema.QUERIES, rows)


@pytest.fixture(scope="session")
def online_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("online") / "work"
    overrides = [f"work_dir={work}", f"serve.port={free_port()}", f"mlflow.port={free_port()}",
                 f"monitor.prometheus_port={free_port()}", "serve.alias_poll_seconds=30",
                 "data.chunks.target_tokens=48", "data.chunks.max_tokens=80", "data.chunks.overlap_tokens=12",
                 "monitor.drift.window=10", "monitor.drift.every=5", "monitor.drift.permutations=200"]
    params = load_params("ci", overrides)
    from minutes.notebook import configure_environment

    configure_environment(params)
    write_corpus(params)
    write_queries(params.stage_dir("etl"))
    svc = Service("api", params.stage_dir("serve"), f"http://127.0.0.1:{params.serve.port}/healthz")
    argv = [sys.executable, "-m", "minutes.serve", "--profile", "ci", "--log-level", "warning"]
    for o in overrides:
        argv += ["-p", o]
    try:
        svc.start(argv, wait_s=300)
        yield {"params": params, "overrides": overrides, "url": f"http://127.0.0.1:{params.serve.port}",
               "service": svc}
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """A real PostgreSQL server on loopback for the session (the answer log's other backend).
    Not installed is a failure, not a skip: `make test` installs it first."""
    if postgres.bin_dir() is None:
        pytest.fail(postgres.INSTALL_HINT)
    yield from postgres.start(free_port())


@pytest.fixture
def postgres_url(postgres_server: postgres.PostgresServer) -> str:
    """The URL of a fresh database on that server (password included, as the platform's)."""
    return postgres_server.new_database()
