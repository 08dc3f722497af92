"""Small throwaway notebooks for runner and archive tests, with the standard numbered-notebook header."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMETERS = 'profile = "local"\noverrides = []\nrun_dir = ""'


def write_notebook(path: str | Path, title: str, intro: str, cells: list[tuple[str, str]]) -> Path:
    """`cells` are ("md", text) or ("code", source) pairs placed after the title, parameters and start cells."""
    path = Path(path)
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell(f"# {title}\n\n{intro}"),
        new_markdown_cell("**Parameters.** `profile`, `overrides`, `run_dir` (set by the pipeline runner)."),
        params,
        new_code_cell(f"import minutes.notebook as nb\nctx = nb.start({path.stem!r}, profile, overrides, run_dir)\n"
                      "params = ctx.params"),
    ]
    nb.cells += [new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in cells]
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path
