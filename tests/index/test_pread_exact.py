"""`page_cache.pread_exact`: the positional read BM25 postings and Arrow columns share."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minutes.index.page_cache import pread_exact


def test_pread_exact_reads_what_was_asked_or_says_the_file_ended(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 4)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert pread_exact(fd, 5, 254) == bytes([254, 255, 0, 1, 2]) and pread_exact(fd, 0, 9) == b""
        with pytest.raises(OSError, match="file ends 6 bytes before the 10 asked at 1020"):
            pread_exact(fd, 10, 1020)
    finally:
        os.close(fd)
