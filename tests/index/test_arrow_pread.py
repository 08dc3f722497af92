"""Text read by pread from a mapped Arrow IPC file equals what the map holds, across chunks."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from minutes.index.arrow_pread import PreadColumn
from minutes.index.store import open_ipc


def _write(path: Path, table: pa.Table, rows_per_chunk: int) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=rows_per_chunk)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_ranges_equal_the_mapped_column(tmp_path: Path, kind: pa.DataType) -> None:
    texts = [f"Turn {i}: " + "é€ 漢字 " * (i % 4) + "x" * (i % 7) for i in range(23)] + ["", "last"]
    path = tmp_path / "t.arrow"
    _write(path, pa.table({"text": pa.array(texts, type=kind), "n": list(range(len(texts)))}), 4)
    table = open_ipc(path)
    reader = PreadColumn(path, table.column("text"), "text")
    assert all(where is not None for where in reader._layout)  # every chunk read positionally
    for lo in range(len(texts) + 1):
        for hi in range(lo, len(texts) + 1):
            assert reader.range(lo, hi) == texts[lo:hi], (lo, hi)
    assert reader[24] == "last" and reader[0] == texts[0]


def test_strings_with_nulls(tmp_path: Path) -> None:
    texts = ["a", "b", None, "d", "e", "f"]
    path = tmp_path / "t.arrow"
    _write(path, pa.table({"text": pa.array(texts, type=pa.string())}), 3)
    table = open_ipc(path)
    reader = PreadColumn(path, table.column("text"), "text")
    assert all(where is not None for where in reader._layout)
    assert reader.range(1, 5) == ["b", None, "d", "e"]


def test_another_file_is_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a.arrow", tmp_path / "b.arrow"
    _write(a, pa.table({"text": ["x"] * 6}), 3)
    _write(b, pa.table({"text": ["x"] * 6}), 2)
    with pytest.raises(ValueError, match="not laid out as the table read from it"):
        PreadColumn(b, open_ipc(a).column("text"), "text")


def test_numbers_dictionaries_and_nulls_equal_the_mapped_columns(tmp_path: Path) -> None:
    """The utterance table's kinds of column: dictionary-encoded strings, int64 and float64, with
    and without nulls, over chunks of 5 rows, every range equal to the map's values."""
    n = 17
    speakers = pa.array([f"S{i % 3}" if i % 4 else None for i in range(n)]).dictionary_encode()
    table = pa.table({"speaker": speakers, "idx": pa.array(range(n), type=pa.int64()),
                      "start": pa.array([i * 0.5 if i % 5 else None for i in range(n)], type=pa.float64()),
                      "text": pa.array([f"t{i}" if i % 6 else None for i in range(n)])})
    path = tmp_path / "u.arrow"
    _write(path, table, 5)
    mapped = open_ipc(path)
    for name in table.column_names:
        reader = PreadColumn(path, mapped.column(name), name)
        assert all(where is not None for where in reader._layout), name  # none fell back to the map
        want = table.column(name).to_pylist()
        for lo in range(n + 1):
            for hi in range(lo, n + 1):
                assert reader.range(lo, hi) == want[lo:hi], (name, lo, hi)
