"""An index over the tiny corpus, built once per session with the real packaged model."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from minutes.config import Params, load_params
from tests.index import corpus


def ci_params(work: Path, *extra: str) -> Params:
    return load_params("ci", [f"work_dir={work}", f"runs_dir={work.parent / 'runs'}", *extra])


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Work dir with ETL products of all three meetings and a flat index over them."""
    from minutes.index.build import build_index

    work = tmp_path_factory.mktemp("index") / "work"
    corpus.write_etl(work)
    params = ci_params(work)
    manifest = build_index(params, progress=False)
    return {"work": work, "params": params, "manifest": manifest}


@pytest.fixture(scope="session")
def embedder(built: dict[str, Any]) -> Any:
    from minutes.index.embed import embedder_for

    return embedder_for(built["params"])


@pytest.fixture
def copy_work(built: dict[str, Any], tmp_path: Path) -> Callable[..., Params]:
    """A private copy of the built work dir (for tests that write to the index)."""
    def make(*extra: str) -> Params:
        work = tmp_path / "work"
        shutil.copytree(built["work"], work)
        return ci_params(work, *extra)
    return make


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random BERT saved as a sentence-transformers model: 'another model' for refusals."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from minutes.models import packaged_embedding_path

    base = tmp_path_factory.mktemp("tiny")
    tok = AutoTokenizer.from_pretrained(str(packaged_embedding_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512)
    BertModel(cfg).save_pretrained(str(base / "hf"))
    tok.save_pretrained(str(base / "hf"))
    word = models.Transformer(str(base / "hf"), max_seq_length=256)
    st = SentenceTransformer(modules=[word, models.Pooling(32, pooling_mode="mean")], device="cpu")
    st.save(str(base / "st"))
    return base / "st"
