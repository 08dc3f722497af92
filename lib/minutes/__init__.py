"""Minutes: meeting intelligence on Chameleon Cloud, driven by numbered notebooks."""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

#: Root of the checkout (the folder holding notebooks/, lib/, params/ ...).
REPO_ROOT = Path(__file__).resolve().parents[2]
