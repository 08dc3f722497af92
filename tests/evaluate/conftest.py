"""Keep the `evaluate` library's module cache out of ~/.cache (it reads HF_HOME at import)."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HOME", os.path.join(tempfile.gettempdir(), "minutes-tests-hf-home"))
