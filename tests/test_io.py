from __future__ import annotations

from pathlib import Path

import pytest

from minutes.io import atomic_path, read_jsonl, write_json, write_jsonl, read_json


def test_failed_write_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"v": 2, "half')
            raise RuntimeError("killed")
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]  # no temp left behind


def test_directory_swap(tmp_path: Path) -> None:
    target = tmp_path / "index"
    for version in ("a", "b"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "v").write_text(version)
    assert (target / "v").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_jsonl_round_trip(tmp_path: Path) -> None:
    rows = [{"a": 1, "t": "é"}, {"a": 2, "t": "x"}]
    assert write_jsonl(tmp_path / "r.jsonl", rows) == 2
    assert read_jsonl(tmp_path / "r.jsonl") == rows
