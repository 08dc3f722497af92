"""Shared fixtures. Tests never touch the real outputs/ folder: work and runs go to tmp_path."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minutes import REPO_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

QMSUM_DIR = (REPO_ROOT / ".." / "shared" / "data" / "qmsum").resolve()


@pytest.fixture
def qmsum_dir() -> Path:
    if not QMSUM_DIR.is_dir():
        pytest.skip(f"QMSum data not found at {QMSUM_DIR}")
    return QMSUM_DIR


@pytest.fixture
def ci_overrides(tmp_path: Path) -> list[str]:
    """Overrides that point the ci profile's work and runs folders into tmp_path."""
    return [f"work_dir={tmp_path / 'work'}", f"runs_dir={tmp_path / 'runs'}"]
