from __future__ import annotations

from pathlib import Path

from minutes.cache import Stage, hash_path


def _run(stage_dir: Path, src: Path, params: dict, calls: list[int], force: bool = False) -> Stage:
    st = Stage(stage_dir, params=params, inputs={"src": src}, code=["minutes.cache"], force=force)
    if st.is_current():
        return st
    st.begin()
    calls.append(1)
    (stage_dir / "out.txt").write_text(src.read_text().upper())
    st.finish(["out.txt"], counts={"chars": len(src.read_text())})
    return st


def test_unchanged_inputs_skip_changed_inputs_rerun(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hello")
    calls: list[int] = []
    st = _run(tmp_path / "stage", src, {"a": 1}, calls)
    _run(tmp_path / "stage", src, {"a": 1}, calls)
    assert len(calls) == 1
    assert st.manifest["counts"] == {"chars": 5} and st.manifest["inputs"]["src"] == hash_path(src)
    _run(tmp_path / "stage", src, {"a": 2}, calls)  # params changed
    assert len(calls) == 2
    src.write_text("hello!")  # input content changed
    _run(tmp_path / "stage", src, {"a": 2}, calls)
    assert len(calls) == 3
    _run(tmp_path / "stage", src, {"a": 2}, calls, force=True)
    assert len(calls) == 4


def test_killed_stage_is_not_current(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x")
    calls: list[int] = []
    _run(tmp_path / "s", src, {}, calls)
    st = Stage(tmp_path / "s", params={}, inputs={"src": src}, code=["minutes.cache"])
    st.begin()  # ... and the process dies here
    assert not Stage(tmp_path / "s", params={}, inputs={"src": src}, code=["minutes.cache"]).is_current()


def test_deleted_output_forces_rerun(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x")
    calls: list[int] = []
    _run(tmp_path / "s", src, {}, calls)
    (tmp_path / "s" / "out.txt").unlink()
    _run(tmp_path / "s", src, {}, calls)
    assert len(calls) == 2


def test_directory_hash_sees_renames(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_text("1")
    h1 = hash_path(d)
    (d / "a.json").rename(d / "b.json")
    assert hash_path(d) != h1
