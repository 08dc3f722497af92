"""notebooks/20_index.ipynb is generated: the committed file must equal the generator's output."""
from __future__ import annotations

from pathlib import Path

from minutes import REPO_ROOT
from minutes.devtools import notebooks_index


def test_notebook_matches_its_generator(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    [fresh] = notebooks_index.write(tmp_path)
    committed = REPO_ROOT / "notebooks" / "20_index.ipynb"
    assert fresh.read_text() == committed.read_text(), \
        "regenerate with: python -m minutes.devtools.notebooks_index"


def test_notebook_cells_stay_short() -> None:
    """Logic belongs in lib/: no code cell defines functions or runs past a dozen lines."""
    for kind, src in notebooks_index.CELLS:
        if kind == "code":
            assert "def " not in src and len(src.splitlines()) <= 12, src
