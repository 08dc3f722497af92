"""Downloads for the chameleon profile (QMSum from its public repository, AMI audio and
annotations). Local/ci profiles never call these: their data is on disk. Every download is
atomic, and skipped when the file is already there."""
from __future__ import annotations

import urllib.request
import zipfile
from pathlib import Path

from minutes.config.data import QmsumSource
from minutes.data.problems import BadInput
from minutes.io import atomic_path


def download(url: str, dest: Path, timeout: float = 60.0) -> Path:
    """Fetch `url` to `dest` atomically unless it is already there."""
    dest = Path(dest)
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    with atomic_path(dest, suffix=dest.suffix) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as fh:
                while block := resp.read(1 << 20):
                    fh.write(block)
        except OSError as exc:
            raise BadInput(url, f"download failed ({exc})", "download") from exc
    return dest


def ensure_qmsum(cfg: QmsumSource) -> Path:
    """QMSum's split folders under `cfg.path`; when they are missing and `cfg.download_url` is
    set (a zip of the QMSum repository), its `data/ALL/<split>/*.json` are unpacked there."""
    missing = [s for s in cfg.splits if not (cfg.path / s).is_dir()]
    if not missing or not cfg.download_url:
        return cfg.path
    archive = download(cfg.download_url, cfg.path.parent / f"{cfg.path.name}-source.zip")
    with zipfile.ZipFile(archive) as zf:
        for split in missing:
            members = [m for m in zf.namelist() if f"/data/ALL/{split}/" in m and m.endswith(".json")]
            if not members:
                raise BadInput(str(archive), f"no data/ALL/{split}/*.json in the QMSum archive", "missing")
            with atomic_path(cfg.path / split) as tmp:
                tmp.mkdir(parents=True)
                for m in members:
                    (tmp / Path(m).name).write_bytes(zf.read(m))
    return cfg.path
