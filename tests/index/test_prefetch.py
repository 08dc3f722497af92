"""prefetch reads a file through in the background, so a service's first reads find it in the
page cache (the kernel's WILLNEED hint alone brought nothing in on this project's VMs)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minutes.index import page_cache


def test_a_file_is_read_to_its_end_by_path_and_by_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "state.bin"
    path.write_bytes(os.urandom(3 * page_cache.PREFETCH_BLOCK + 1234))
    by_path = page_cache.prefetch(path)
    with open(path, "rb") as fh:
        by_fd = page_cache.prefetch(fh.fileno())
    # the caller closed its descriptor already: the reader has its own
    assert by_path.done.wait(30) and by_fd.done.wait(30)
    assert by_path.bytes_read == by_fd.bytes_read == path.stat().st_size
    assert by_path.name == str(path) and by_fd.name.startswith("fd ")


def test_the_mode_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.bin"
    path.write_bytes(b"x" * 5000)
    for mode in ("hint", "off"):
        monkeypatch.setenv("MINUTES_PREFETCH", mode)
        job = page_cache.prefetch(path)
        assert job.done.is_set() and job.bytes_read == 0
    monkeypatch.setenv("MINUTES_PREFETCH", "always")
    with pytest.raises(ValueError, match="MINUTES_PREFETCH='always'"):
        page_cache.prefetch(path)
    monkeypatch.delenv("MINUTES_PREFETCH")
    assert page_cache.prefetch(path).done.wait(30)
