"""Columns of an Arrow IPC file read with pread instead of through a memory map.

The service maps its chunk table and utterance table (zero-copy, so a start reads nothing), but
a mapped file counts in RSS every page a read touched, and the kernel maps up to 64 KB around
each: at 100k chunks, a few hundred answers had made 80 MB of the two files resident, most of it
text (142 of the chunk table's 176 MB, 125 of the utterances' 210 MB) and the rest the columns
beside it. What a response reads (one chunk's cells, one span of utterances) is therefore read
positionally from the page cache (the files are prefetched), and only the values a response
carries become the service's memory. Whole-column reads at start stay on the map.
"""
from __future__ import annotations

import bisect
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minutes.index.page_cache import pread_exact

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class _Where:
    """Where one chunk's buffers lie in the file (positions in bytes)."""

    kind: str  # "text" or "number"
    validity: int  # its validity bitmap, or -1 without nulls
    pos: int  # its first used offset (text) or value (number)
    width: int  # an offset's or a value's size
    dtype: str  # numpy dtype of the offsets or values
    data: int = -1  # text: where the characters begin
    values: "list[Any] | None" = None  # dictionary-encoded: the decoded dictionary


class PreadColumn:
    """Values of one column by row range, read from the file with pread: strings (plain or
    large), fixed-width numbers and dictionary-encoded strings, nulls included.

    The layout (where each chunk's buffers lie in the file) comes from the IPC metadata of a
    throwaway map of the file: the address Arrow gives a zero-copy buffer is the map's base plus
    the file offset. A chunk of another type, or whose buffers Arrow had to copy, is read from
    `column` (the caller's mapped table) instead."""

    def __init__(self, path: Path, column: "pa.ChunkedArray", name: str) -> None:
        import numpy as np

        self._column = column
        self._starts: list[int] = np.cumsum([0] + [len(c) for c in column.chunks]).tolist()
        self._layout = _layout(Path(path), name, [len(c) for c in column.chunks])
        self._offsets = [c.offset for c in column.chunks]
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def _pread(self, size: int, pos: int) -> bytes:
        return pread_exact(self._fd, size, pos)

    def _valid(self, bit_pos: int, a: int, z: int, first_bit: int) -> list[bool] | None:
        import numpy as np

        if bit_pos < 0:
            return None
        lo, hi = first_bit + a, first_bit + z
        raw = np.frombuffer(self._pread((hi + 7) // 8 - lo // 8, bit_pos + lo // 8), dtype=np.uint8)
        bits = np.unpackbits(raw, bitorder="little")[lo % 8:lo % 8 + (z - a)]
        return bits.astype(bool).tolist()

    def _chunk_range(self, j: int, a: int, z: int) -> list[Any]:
        """Rows a..z (chunk-relative) of chunk j."""
        import numpy as np

        where = self._layout[j]
        if where is None:
            return self._column.chunks[j].slice(a, z - a).to_pylist()
        valid = self._valid(where.validity, a, z, self._offsets[j]) if where.validity >= 0 else None
        if where.kind == "text":
            off = np.frombuffer(self._pread((z - a + 1) * where.width, where.pos + a * where.width), dtype=where.dtype)
            first = int(off[0])
            raw = self._pread(int(off[-1]) - first, where.data + first)
            cuts = (off - first).tolist()
            blob: "bytes | str" = raw.decode("ascii") if raw.isascii() else raw  # ASCII: one decode, str slices
            out: list[Any] = ([blob[cuts[i]:cuts[i + 1]] for i in range(z - a)] if isinstance(blob, str)
                              else [raw[cuts[i]:cuts[i + 1]].decode("utf-8") for i in range(z - a)])
        else:
            out = np.frombuffer(self._pread((z - a) * where.width, where.pos + a * where.width),
                                dtype=where.dtype).tolist()
            if where.values is not None:
                out = [where.values[k] if 0 <= k < len(where.values) else None for k in out]
        if valid is not None:
            out = [v if ok else None for v, ok in zip(out, valid)]
        return out

    def range(self, lo: int, hi: int) -> list[Any]:
        """The values of rows lo..hi (hi exclusive), in order (None for a null)."""
        out: list[Any] = []
        j = max(0, bisect.bisect_right(self._starts, lo) - 1)
        while lo < hi and j < len(self._layout):
            start, end = self._starts[j], self._starts[j + 1]
            if lo < end:
                z = min(hi, end)
                out += self._chunk_range(j, lo - start, z - start)
                lo = z
            j += 1
        return out

    def __getitem__(self, row: int) -> Any:
        return self.range(row, row + 1)[0]


def _layout(path: Path, name: str, lengths: list[int]) -> list[_Where | None]:
    """Per chunk of column `name`: where its buffers lie in the file (None: read it from the map)."""
    import mmap

    import pyarrow as pa

    from minutes.index.arrow_numpy import numeric_dtype

    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    base = pa.py_buffer(mapped)
    column = pa.ipc.open_file(pa.BufferReader(base)).read_all().column(name)
    if [len(c) for c in column.chunks] != lengths:
        raise ValueError(f"{path.name}: column {name!r} is not laid out as the table read from it")
    lo, hi = base.address, base.address + base.size

    def at(buffer: Any) -> int:
        """The buffer's file position, or -2 where it is not in the map (a copy)."""
        if buffer is None:
            return -1
        return buffer.address - lo if lo <= buffer.address and buffer.address + buffer.size <= hi else -2

    decoded: dict[tuple[int, int], list[Any]] = {}  # unified dictionaries are shared by chunks
    out: list[_Where | None] = []
    for chunk in column.chunks:
        where: _Where | None = None
        values = None
        array = chunk
        if pa.types.is_dictionary(chunk.type):
            d = chunk.dictionary
            if pa.types.is_string(d.type) or pa.types.is_large_string(d.type):
                key = (d.buffers()[-1].address if d.buffers()[-1] is not None else 0, len(d))
                values = decoded.setdefault(key, d.to_pylist())
                array = chunk.indices
            else:
                array = None
        if array is not None:
            buffers = array.buffers()
            validity = at(buffers[0]) if array.null_count else -1
            if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                width = 4 if pa.types.is_string(array.type) else 8
                offsets, data = at(buffers[1]), at(buffers[2])
                if min(offsets, data, validity) >= -1:
                    where = _Where("text", validity, offsets + array.offset * width, width,
                                   "int32" if width == 4 else "int64", data=data)
            elif numeric_dtype(array.type) is not None and len(buffers) == 2:
                dtype = numeric_dtype(array.type)
                data = at(buffers[1])
                if min(data, validity) >= -1:
                    where = _Where("number", validity, data + array.offset * dtype.itemsize, dtype.itemsize,
                                   dtype.name, values=values)
        out.append(where)
    del column, base  # the throwaway map goes with its last buffer
    return out

