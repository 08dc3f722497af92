"""`page_cache.prefetch` puts a mapped file in the page cache (what `fincore`, util-linux, reports),
and mapping a table or vectors for serving prefetches them."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from minutes.index import page_cache, store

pytestmark = pytest.mark.skipif(shutil.which("fincore") is None or not hasattr(os, "posix_fadvise"),
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


def test_prefetch_reads_the_file_into_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(8 << 20))
    before = cached_bytes(evicted(path))
    if before > (1 << 20):
        pytest.skip("this file system keeps the file cached (tmpfs?): nothing to measure")
    page_cache.prefetch(path)
    assert wait_cached(path) >= 0.9 * path.stat().st_size


def test_mapping_vectors_for_serving_prefetches_them(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.npy"
    np.save(path, np.random.default_rng(0).standard_normal((4096, 384)).astype("float32"))
    if cached_bytes(evicted(path)) > (1 << 20):
        pytest.skip("this file system keeps the file cached (tmpfs?): nothing to measure")
    vectors = store.load_vectors(path, mmap=True)
    assert vectors.shape == (4096, 384)
    assert wait_cached(path) >= 0.9 * path.stat().st_size
