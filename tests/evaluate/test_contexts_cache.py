"""The evaluation contexts are retrieval's output, so their cache must follow retrieval's code.

The contexts stage runs in a fresh interpreter (nothing imported by other tests), on the tiny
corpus of tests/index with a real index; its manifest must name the retriever and BM25, and a
BM25 source other than the recorded one must make the next `prepare` retrieve again."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from minutes import REPO_ROOT, cache
from minutes.config import load_params
from minutes.evaluate import stage
from minutes.io import read_json
from tests.index import corpus

RUN_CONTEXTS = """
import sys
from minutes.config import load_params
from minutes.evaluate import stage
from minutes.index.build import build_index

params = load_params("ci", sys.argv[1:])
build_index(params, progress=False)
assert not stage.prepare(params, "val").from_cache
"""
RETRIEVAL = ("minutes.index.retriever", "minutes.index.bm25")


@pytest.fixture(scope="module")
def overrides(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A work dir whose val contexts were computed by a process of their own."""
    work = tmp_path_factory.mktemp("contexts") / "work"
    corpus.write_etl(work)
    args = [f"work_dir={work}", f"runs_dir={work.parent / 'runs'}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", RUN_CONTEXTS, *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return args


def test_contexts_record_the_retrieval_modules(overrides: list[str]) -> None:
    params = load_params("ci", overrides)
    manifest = read_json(stage.stage_dir(params, "val") / "contexts" / cache.MANIFEST)
    modules = manifest["code"]["modules"]
    assert set(RETRIEVAL) <= set(modules), sorted(modules)
    assert "minutes.evaluate.dataset" in modules and "minutes.generate.context" in modules


def test_a_retrieval_change_recomputes_the_contexts(overrides: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    params = load_params("ci", overrides)
    assert stage.prepare(params, "val").from_cache, "unchanged code: the contexts come from the cache"
    edited = "0" * 64  # the source hash of an edited bm25.py
    real = cache._running_hash
    monkeypatch.setattr(cache, "_running_hash", lambda name: edited if name == "minutes.index.bm25" else real(name))
    prep = stage.prepare(params, "val")
    assert not prep.from_cache and prep.contexts
    monkeypatch.undo()
    assert not stage.prepare(params, "val").from_cache, "the new manifest records the changed BM25"
