"""Every numbered notebook is its own source: a jupytext pair in sync, no outputs, the standard header.

To fix a failure: open the notebook in Jupyter (jupytext keeps the pair) or edit the `.py`, then run
`jupytext --sync notebooks/<name>.py`; clear outputs with Jupyter's "Clear All Outputs" or
`jupyter nbconvert --clear-output --inplace notebooks/<name>.ipynb` followed by the sync.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from minutes import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 25


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def test_every_stage_has_a_notebook() -> None:
    names = {p.stem[:2] for p in NOTEBOOKS}
    assert {"00", "01", "02", "10", "20", "30", "40", "50", "60", "99"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_is_in_sync(path: Path) -> None:
    pair = path.with_suffix(".py")
    assert pair.is_file(), f"{path.name} has no percent-format pair: jupytext --set-formats ipynb,py:percent {path.name}"
    ipynb = nbformat.read(path, as_version=4)
    py = jupytext.read(pair)
    assert _cells(py) == _cells(ipynb), f"{path.name} and {pair.name} differ: jupytext --sync notebooks/{pair.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {i} carries outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_standard_header(path: Path) -> None:
    """Title and what/where in markdown, the tagged parameters cell, then the one line that starts the stage."""
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and re.match(r"# \d\d · \S", cells[0].source), cells[0].source[:80]
    assert "**Where it runs.**" in cells[0].source, f"{path.name}: the intro says where the step runs"
    params = next(c for c in cells if "parameters" in c.metadata.get("tags", ()))
    assigned = {t.id for node in ast.parse(params.source).body if isinstance(node, ast.Assign) for t in node.targets}
    assert assigned == {"profile", "overrides", "run_dir"}
    assert 'os.environ.get("MINUTES_PROFILE", "local")' in params.source
    start = cells[cells.index(params) + 1]
    assert f"nb.start({path.stem!r}, profile, overrides, run_dir)" in start.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_stay_short(path: Path) -> None:
    """Logic belongs in lib/: no code cell defines a function or runs past 25 lines."""
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        assert len(cell.source.splitlines()) <= MAX_CODE_LINES, f"{path.name} cell {i} is over {MAX_CODE_LINES} lines"
        defs = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defs, f"{path.name} cell {i} defines {defs[0].name}: move it to lib/"
