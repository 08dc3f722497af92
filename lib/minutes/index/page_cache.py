"""Page-cache hints for the files a service maps (its own module: the index store and BM25 both
use it, and neither may import the other)."""
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
