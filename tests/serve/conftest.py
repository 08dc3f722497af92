"""A real service for the tests: a tiny hand-written corpus, a real FAISS index built by the index
stage, a real MLflow server, and `python -m minutes.serve` under uvicorn on a free loopback port.

Built once per session (the server takes ~10 s to load its models); tests that change state
(ingest, alias) use their own meeting ids / restore what they change.
"""
from __future__ import annotations

import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from minutes.config import Params, load_params
from minutes.io import write_jsonl
from minutes.platform.processes import Service

TOKEN = "test-ingest-token-0123456789"
MEETINGS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "design01": ("Product", [
        ("Project Manager", "Welcome everyone, today we have to decide on the design of the new remote control."),
        ("Industrial Designer", "I looked at the materials and I think a rubber case would survive being dropped."),
        ("Marketing", "Our survey says young people want a remote control in bright colours, mostly yellow."),
        ("User Interface", "The buttons should be big and few, with a scroll wheel for the channels."),
        ("Project Manager", "So we decided to go with the rubber case in yellow and a scroll wheel."),
        ("Industrial Designer", "The battery should be a normal double A battery, a kinetic one costs too much."),
        ("Marketing", "The price has to stay under twenty five euros to sell in the shops."),
        ("Project Manager", "Action items: I will send the drawings of the case to everyone by next meeting."),
        ("User Interface", "I'll prepare a prototype of the button layout before Friday."),
        ("Project Manager", "Okay, thank you all, see you at the next meeting."),
    ]),
    "budget02": ("Committee", [
        ("Chair", "We are here to discuss the education budget for the coming year."),
        ("Member Smith", "The schools in the north need more funding for teachers and books."),
        ("Member Jones", "I worry that the province cannot afford a large increase this year."),
        ("Chair", "After the debate the committee agreed to increase school funding by five percent."),
        ("Member Smith", "The clerk will need to write the report to the minister before the next sitting."),
        ("Chair", "The meeting is adjourned until Tuesday."),
    ]),
    "speech03": ("Academic", [
        ("Professor", "Let us talk about the speech recognition experiments from last week."),
        ("Student A", "The neural network acoustic model reduced the word error rate to twelve percent."),
        ("Student B", "We trained on the meeting recorder data with far field microphones."),
        ("Professor", "The far field microphones are much harder than the close talking ones."),
        ("Student A", "I will run the baseline again with the new features by Monday."),
        ("Professor", "Good, the decision is that we use the new features from now on."),
    ]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def utterances() -> list[dict[str, Any]]:
    rows = []
    for mid, (domain, turns) in MEETINGS.items():
        t = 0.0
        for i, (speaker, text) in enumerate(turns):
            dur = len(text.split()) / 2.8
            rows.append({"meeting_id": mid, "idx": i, "speaker": speaker, "start": round(t, 2),
                         "end": round(t + dur, 2), "text": text, "source": "manual", "domain": domain,
                         "split": "val"})
            t += dur
    return rows


def write_corpus(params: Params) -> None:
    """ETL products (utterances, chunks, queries) and the index, made by the real stage code."""
    import pandas as pd

    from minutes import schema
    from minutes.data.chunking import chunk_meeting, load_tokenizer
    from minutes.index.build import build_index

    etl = params.stage_dir("etl")
    utts = utterances()
    write_jsonl(etl / schema.UTTERANCES, utts)
    tok = load_tokenizer(params.index.embedding_model)
    chunks = [c for mid in MEETINGS for c in chunk_meeting([u for u in utts if u["meeting_id"] == mid], tok,
                                                             params.data.chunks)]
    pd.DataFrame(chunks).to_parquet(etl / schema.CHUNKS)
    write_jsonl(etl / schema.QUERIES, [
        {"query_id": "design01/specific/0", "meeting_id": "design01", "query": "What case did they choose?",
         "answer": "rubber", "kind": "specific", "spans": [[4, 4]], "split": "val", "domain": "Product"},
        {"query_id": "budget02/specific/0", "meeting_id": "budget02", "query": "How much will school funding grow?",
         "answer": "five percent", "kind": "specific", "spans": [[3, 3]], "split": "val", "domain": "Committee"}])
    build_index(params, progress=False)


@pytest.fixture(scope="session")
def serve_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("serve") / "work"
    overrides = [f"work_dir={work}", f"serve.port={free_port()}", f"mlflow.port={free_port()}",
                 "serve.alias_poll_seconds=0.5", "serve.max_upload_mb=1", "data.chunks.target_tokens=48",
                 "data.chunks.max_tokens=80", "data.chunks.overlap_tokens=12"]
    params = load_params("ci", overrides)
    from minutes.notebook import configure_environment
    from minutes.platform import mlflow_server

    configure_environment(params)
    svc = Service("api", params.stage_dir("serve"), f"http://127.0.0.1:{params.serve.port}/healthz")
    try:
        with ThreadPoolExecutor(1) as pool:  # the MLflow server starts while the index is built
            started = pool.submit(mlflow_server.ensure_server, params)
            write_corpus(params)
            mlflow_uri = started.result()
        argv = [sys.executable, "-m", "minutes.serve", "--profile", "ci", "--log-level", "warning"]
        for o in overrides:
            argv += ["-p", o]
        env = {params.serve.ingest_token_env: TOKEN, "MLFLOW_TRACKING_URI": mlflow_uri}
        svc.start(argv, env=env, wait_s=300)
        yield {"params": params, "overrides": overrides, "url": f"http://127.0.0.1:{params.serve.port}",
               "service": svc, "token": TOKEN, "mlflow_uri": mlflow_uri}
    finally:
        svc.stop()
        mlflow_server.stop_server(params)


@pytest.fixture(scope="session")
def url(serve_env: dict[str, Any]) -> str:
    return serve_env["url"]


@pytest.fixture
def http(url: str) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=url, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short real recording: espeak-ng speaking one sentence (16 kHz wav)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("audio") / "standup.wav"
    text = "Good morning. We decided to ship the yellow remote control next week."
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    return path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
