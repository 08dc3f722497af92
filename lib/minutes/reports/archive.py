"""Write an executed notebook into a run folder: scrubbed .ipynb plus its HTML export."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import nbformat

from minutes.io import write_text
from minutes.reports.scrub import scrub_notebook, scrub_text


def to_html(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb)
    return body


def archive_notebook(executed: Path, dest_dir: Path, name: str,
                     environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Scrub `executed` and write `<name>.ipynb` and `<name>.html` into `dest_dir`."""
    nb = nbformat.read(executed, as_version=4)
    clean, values = scrub_notebook(nb, environ)
    dest_dir.mkdir(parents=True, exist_ok=True)
    ipynb = write_text(dest_dir / f"{name}.ipynb", nbformat.writes(clean))
    html = write_text(dest_dir / f"{name}.html", scrub_text(to_html(clean), values))
    return {"ipynb": ipynb, "html": html}
