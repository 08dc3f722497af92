"""`page_cache.prefetch` puts a mapped file in the page cache (what `fincore`, util-linux, reports),
and mapping a table or vectors for serving prefetches them: it reads the file through in the
background (the kernel's WILLNEED hint alone brought a large file nothing on this project's VMs)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from minutes.index import page_cache, store

needs_fincore = pytest.mark.skipif(shutil.which("fincore") is None or not hasattr(os, "posix_fadvise"),
                                   reason="needs fincore (util-linux) and posix_fadvise")


def cached_bytes(path: Path) -> int:
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def evicted(path: Path) -> Path:
    """`path` written to disk and dropped from the page cache (clean pages can be)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return path


def wait_cached(path: Path, share: float = 0.9, timeout_s: float = 10.0) -> int:
    deadline = time.time() + timeout_s
    while (got := cached_bytes(path)) < share * path.stat().st_size and time.time() < deadline:
        time.sleep(0.05)
    return got


@needs_fincore
def test_prefetch_reads_the_file_into_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(8 << 20))
    before = cached_bytes(evicted(path))
    if before > (1 << 20):
        pytest.skip("this file system keeps the file cached (tmpfs?): nothing to measure")
    page_cache.prefetch(path)
    assert wait_cached(path) >= 0.9 * path.stat().st_size


@needs_fincore
def test_mapping_vectors_for_serving_prefetches_them(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.npy"
    np.save(path, np.random.default_rng(0).standard_normal((4096, 384)).astype("float32"))
    if cached_bytes(evicted(path)) > (1 << 20):
        pytest.skip("this file system keeps the file cached (tmpfs?): nothing to measure")
    vectors = store.load_vectors(path, mmap=True)
    assert vectors.shape == (4096, 384)
    assert wait_cached(path) >= 0.9 * path.stat().st_size


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
