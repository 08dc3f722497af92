"""Page-cache hints and positional reads for the files a service keeps open (its own module: the
index store, BM25 and the Arrow column reader use it, and BM25 may not import the store)."""
from __future__ import annotations

import os
from pathlib import Path


def prefetch(file: "int | Path") -> None:
    """Ask the kernel to read a mapped file into its page cache now (POSIX_FADV_WILLNEED).

    A search's first touch of a row is then a minor fault, not a disk read, which would stall
    the request while it holds the GIL (every other request waits). The page cache belongs to
    the system and is reclaimable; it is not the service's resident memory, which counts only
    the pages a process touched. A no-op where the call does not exist."""
    if not hasattr(os, "posix_fadvise"):
        return
    if isinstance(file, int):
        os.posix_fadvise(file, 0, 0, os.POSIX_FADV_WILLNEED)
        return
    fd = os.open(file, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)


def pread_exact(fd: int, size: int, pos: int) -> bytes:
    """`size` bytes at `pos` of an open file (os.pread may return fewer); OSError where the file
    ends first (a file truncated under a reader)."""
    raw = os.pread(fd, size, pos) if size else b""
    while len(raw) < size:
        more = os.pread(fd, size - len(raw), pos + len(raw))
        if not more:
            raise OSError(f"file ends {size - len(raw)} bytes before the {size} asked at {pos}")
        raw += more
    return raw
