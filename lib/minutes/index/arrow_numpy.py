"""Arrow columns as numpy arrays without pandas.

pyarrow's own `to_numpy` imports pandas (~50 MB resident) on first use, and the service would
carry it for the life of the process only to read a few columns at start. Fixed-width numbers
without nulls are viewed in place (zero-copy: a memory-mapped column stays on disk until read);
anything else is decoded through its dictionary, once per distinct value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def column_numpy(column: Any) -> "np.ndarray":
    """A pyarrow Array or ChunkedArray as a numpy array (object dtype for strings; None for nulls)."""
    import numpy as np
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_array_numpy(c) for c in chunks]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return _array_numpy(pa.array([], type=column.type))
    return np.concatenate(parts)


def numeric_dtype(t: Any) -> "np.dtype | None":
    """The numpy dtype of an Arrow integer or float type (None for others), without pandas."""
    import numpy as np
    import pyarrow as pa

    if pa.types.is_floating(t):
        return np.dtype(f"f{t.bit_width // 8}")
    if pa.types.is_signed_integer(t):
        return np.dtype(f"i{t.bit_width // 8}")
    if pa.types.is_unsigned_integer(t):
        return np.dtype(f"u{t.bit_width // 8}")
    return None


def _valid(a: Any) -> "np.ndarray":
    """Which entries of `a` are not null (from its validity bitmap)."""
    import numpy as np

    bits = np.unpackbits(np.frombuffer(a.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[a.offset:a.offset + len(a)].astype(bool)


def _array_numpy(a: Any, null_code: int | None = None) -> "np.ndarray":
    """`null_code`: what nulls of an integer array become (else numbers with nulls are floats, NaN)."""
    import numpy as np
    import pyarrow as pa

    dtype = numeric_dtype(a.type)
    if dtype is not None:
        values = np.frombuffer(a.buffers()[1], dtype=dtype, count=len(a), offset=a.offset * dtype.itemsize)
        if a.null_count == 0:
            return values
        out = values.astype(np.int64 if null_code is not None else np.float64)
        out[~_valid(a)] = null_code if null_code is not None else np.nan
        return out
    # (pyarrow's fill_null and to_numpy would both import pandas)
    encoded = a if pa.types.is_dictionary(a.type) else a.dictionary_encode()
    codes = _array_numpy(encoded.indices, null_code=-1)
    values = np.empty(len(encoded.dictionary) + 1, dtype=object)  # the last one: null
    values[:-1] = encoded.dictionary.to_pylist()
    return values[codes]


def dictionary_codes(column: Any) -> tuple["np.ndarray", list[Any]]:
    """(code per row, distinct values): -1 for a null."""
    import pyarrow as pa

    a = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = a if pa.types.is_dictionary(a.type) else a.dictionary_encode()
    return _array_numpy(encoded.indices, null_code=-1), encoded.dictionary.to_pylist()
