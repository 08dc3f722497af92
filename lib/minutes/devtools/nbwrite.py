"""Write source notebooks (no outputs) from a compact cell list, so they stay uniform.

Every numbered notebook opens with the same two cells: the `parameters` cell papermill fills,
then the one line that loads the parameters (see minutes.notebook.start).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMETERS = 'profile = "local"\noverrides = []\nrun_dir = ""'


def write_notebook(path: str | Path, title: str, intro: str, cells: list[tuple[str, str]]) -> Path:
    """`cells` are ("md", text) or ("code", source) pairs placed after the standard header."""
    path = Path(path)
    name = path.stem
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell(f"# {title}\n\n{intro}"),
        new_markdown_cell("**Parameters.** `profile` picks `params/<profile>.yaml`; `overrides` are "
                          "`key.sub=value` strings; `run_dir` is set by the pipeline runner."),
        params,
        new_code_cell(f"import minutes.notebook as nb\nctx = nb.start({name!r}, profile, overrides, run_dir)\n"
                      "params = ctx.params"),
    ]
    for kind, text in cells:
        nb.cells.append(new_markdown_cell(text) if kind == "md" else new_code_cell(text))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name}-{i:02d}"  # stable ids: regenerating a notebook gives no spurious diff
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path
