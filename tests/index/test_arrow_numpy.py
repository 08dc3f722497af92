"""Arrow columns to numpy without pandas: equal to pyarrow's own conversion, zero-copy for numbers,
nulls kept, and pandas never imported (checked in a fresh interpreter)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from minutes.index.arrow_numpy import column_numpy, dictionary_codes


def test_numbers_strings_nulls_and_chunks_match_pyarrow() -> None:
    cases = [pa.array([3, 1, 2], pa.int64()), pa.array([1.5, 2.5], pa.float32()),
             pa.array([7, 8, 9], pa.uint16()).slice(1), pa.array(["a", "b", "a"]),
             pa.array(["x", None, "y"]), pa.array([1, None, 3], pa.int32())]
    for a in cases:
        got, want = column_numpy(a), a.to_numpy(zero_copy_only=False)
        assert got.dtype == want.dtype and got.shape == want.shape, a
        assert [None if x != x else x for x in got.tolist()] == [None if x != x else x for x in want.tolist()]
    chunked = pa.chunked_array([pa.array(["m1", "m2"]), pa.array(["m1"])])
    assert column_numpy(chunked).tolist() == ["m1", "m2", "m1"]
    assert column_numpy(pa.chunked_array([], pa.int64())).tolist() == []


def test_numbers_are_a_view_of_the_arrow_buffer() -> None:
    a = pa.array(np.arange(10, dtype=np.int64))
    view = column_numpy(a.slice(2))
    assert view[0] == 2 and not view.flags.owndata
    assert view.__array_interface__["data"][0] == a.buffers()[1].address + 2 * 8


def test_dictionary_codes_put_nulls_in_no_group() -> None:
    codes, values = dictionary_codes(pa.chunked_array([pa.array(["b", None]), pa.array(["a", "b"])]))
    assert codes.tolist() == [0, -1, 1, 0] and values == ["b", "a"]


def test_pandas_is_never_imported(tmp_path: Path) -> None:
    """The service reads memory-mapped columns this way; pyarrow's to_numpy would import pandas."""
    path = tmp_path / "t.arrow"
    t = pa.table({"n": pa.array(range(5)), "s": pa.array(["a", None, "b", "a", "c"])})
    with pa.ipc.new_file(str(path), t.schema) as w:
        w.write_table(t)
    script = ("import sys, pyarrow as pa, pyarrow.ipc as ipc\n"
              "from minutes.index.arrow_numpy import column_numpy, dictionary_codes\n"
              "t = ipc.open_file(pa.memory_map(sys.argv[1])).read_all()\n"
              "column_numpy(t.column('n')); column_numpy(t.column('s')); dictionary_codes(t.column('s'))\n"
              "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
