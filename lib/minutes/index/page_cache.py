"""Page-cache hints and positional reads for the files a service keeps open (its own module: the
index store, BM25 and the Arrow column reader use it, and BM25 may not import the store)."""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Prefetch:
    """One file being read into the page cache: `done` is set once it was read to its end."""

    name: str
    done: threading.Event = field(default_factory=threading.Event)
    bytes_read: int = 0
    seconds: float = 0.0


_queue: "queue.SimpleQueue[tuple[int, Prefetch]]" = queue.SimpleQueue()
_reader: threading.Thread | None = None
_reader_lock = threading.Lock()
#: Bytes per read of a prefetch (one buffer, reused).
PREFETCH_BLOCK = 1 << 20
#: MINUTES_PREFETCH: "read" (default) reads the files through; "hint" only gives the kernel
#: the hint (what services did before, kept for the scale bench's comparison); "off" neither.
PREFETCH_MODES = ("read", "hint", "off")


def prefetch_mode() -> str:
    mode = os.environ.get("MINUTES_PREFETCH", "read").strip().lower() or "read"
    if mode not in PREFETCH_MODES:
        raise ValueError(f"MINUTES_PREFETCH={mode!r}: use one of {', '.join(PREFETCH_MODES)}")
    return mode


def prefetch(file: "int | Path") -> Prefetch:
    """Read a file the service keeps open into the kernel's page cache, in the background.

    A search's first touch of a row is then a page-cache hit, not a disk read: measured on this
    project's VMs, a cold 4 KB pread took 11-44 us against ~1 us warm, and a request holds the
    GIL meanwhile (every other request waits). POSIX_FADV_WILLNEED alone is a hint these
    kernels did not act on (fincore showed no change), so one daemon thread reads the files
    through, one after another, into one reused buffer (the system calls release the GIL). The
    page cache belongs to the system and is reclaimable; it is not the service's resident
    memory, which counts only the pages a process touches through its own maps. `file`: a path,
    or an open descriptor (duplicated: the caller may close its own)."""
    global _reader
    job = Prefetch(str(file) if not isinstance(file, int) else f"fd {file}")
    mode = prefetch_mode()
    if mode == "off":
        job.done.set()
        return job
    fd = os.dup(file) if isinstance(file, int) else os.open(file, os.O_RDONLY)
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    if mode == "hint":
        os.close(fd)
        job.done.set()
        return job
    _queue.put((fd, job))
    with _reader_lock:
        if _reader is None or not _reader.is_alive():
            _reader = threading.Thread(target=_read_queued, name="page-cache-prefetch", daemon=True)
            _reader.start()
    return job


def _read_queued() -> None:
    view = memoryview(bytearray(PREFETCH_BLOCK))
    while True:
        fd, job = _queue.get()
        t0 = time.perf_counter()
        try:
            while (n := os.preadv(fd, [view], job.bytes_read)) > 0:
                job.bytes_read += n
        except OSError:  # a file removed or truncated under us: a hint lost, nothing more
            pass
        finally:
            os.close(fd)
            job.seconds = time.perf_counter() - t0
            job.done.set()


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
