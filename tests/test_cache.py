from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Iterator

import pytest

import minutes
from minutes import cache
from minutes.cache import Stage, hash_path
from minutes.io import read_json, write_json

PROBE = "minutes._cache_probe_module"


def _run(stage_dir: Path, src: Path, params: dict, calls: list[int], force: bool = False) -> Stage:
    st = Stage(stage_dir, params=params, inputs={"src": src}, force=force)
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
    st = Stage(tmp_path / "s", params={}, inputs={"src": src})
    st.begin()  # ... and the process dies here
    assert not Stage(tmp_path / "s", params={}, inputs={"src": src}).is_current()


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


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway `minutes` module in a temporary folder on the package's path (never in lib/)."""
    folder = tmp_path / "extra"
    folder.mkdir()
    source = folder / (PROBE.rsplit(".", 1)[1] + ".py")
    source.write_text("FACTOR = 2\n")
    monkeypatch.setattr(minutes, "__path__", [*minutes.__path__, str(folder)])
    importlib.invalidate_caches()
    yield source
    sys.modules.pop(PROBE, None)


def _stage_using_probe(stage_dir: Path, src: Path, calls: list[int]) -> Stage:
    """A stage whose work imports the probe module, as a stage's function imports its helpers."""
    st = Stage(stage_dir, params={}, inputs={"src": src})
    if st.is_current():
        return st
    st.begin()
    calls.append(1)
    factor = importlib.import_module(PROBE).FACTOR
    (stage_dir / "out.txt").write_text(src.read_text() * factor)
    st.finish(["out.txt"])
    return st


def test_a_change_to_an_imported_module_reruns_the_stage(tmp_path: Path, probe: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("ab")
    calls: list[int] = []
    st = _stage_using_probe(tmp_path / "s", src, calls)
    assert st.manifest["code"]["modules"][PROBE] == cache.hash_source(probe)
    _stage_using_probe(tmp_path / "s", src, calls)
    assert len(calls) == 1, "unchanged code must be skipped"
    probe.write_text("FACTOR = 3  # changed\n")
    sys.modules.pop(PROBE)  # the module is re-imported from the changed source
    assert not Stage(tmp_path / "s", params={}, inputs={"src": src}).is_current()
    _stage_using_probe(tmp_path / "s", src, calls)
    assert len(calls) == 2 and (tmp_path / "s" / "out.txt").read_text() == "ababab"


def test_a_recorded_module_is_found_without_being_imported(tmp_path: Path, probe: Path) -> None:
    """A fresh process has not imported the stage's modules when it asks `is_current()`."""
    src = tmp_path / "in.txt"
    src.write_text("x")
    _stage_using_probe(tmp_path / "s", src, [])
    sys.modules.pop(PROBE)
    assert Stage(tmp_path / "s", params={}, inputs={"src": src}).is_current()
    assert PROBE not in sys.modules
    probe.rename(probe.with_name("renamed.py"))  # a module renamed or deleted since
    importlib.invalidate_caches()
    assert cache.module_file(PROBE) is None
    assert not Stage(tmp_path / "s", params={}, inputs={"src": src}).is_current()


def test_an_edit_after_import_is_not_taken_for_the_code_that_ran(tmp_path: Path, probe: Path) -> None:
    """A notebook kernel keeps running a module's old code after its file is edited: the stage
    must record that old code, so a fresh process (which loads the new file) runs it again."""
    src = tmp_path / "in.txt"
    src.write_text("ab")
    importlib.import_module(PROBE)
    ran = cache.hash_source(probe)
    Stage(tmp_path / "s", params={}, inputs={"src": src})  # a stage starts: the imports so far are seen
    probe.write_text("FACTOR = 5  # edited while the kernel runs\n")
    calls: list[int] = []
    st = _stage_using_probe(tmp_path / "s", src, calls)
    assert st.manifest["code"]["modules"][PROBE] == ran and (tmp_path / "s" / "out.txt").read_text() == "abab"
    assert Stage(tmp_path / "s", params={}, inputs={"src": src}).is_current(), "this process runs what was recorded"
    sys.modules.pop(PROBE)  # a fresh process imports the edited file
    _stage_using_probe(tmp_path / "s", src, calls)
    assert len(calls) == 2 and (tmp_path / "s" / "out.txt").read_text() == "ab" * 5


def test_a_library_upgrade_reruns_the_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x")
    calls: list[int] = []
    st = _run(tmp_path / "s", src, {}, calls)
    deps = st.manifest["code"]["dependencies"]
    assert set(deps) <= set(cache.RESULT_DEPENDENCIES)
    monkeypatch.setattr(cache, "dependency_versions", lambda: {**deps, "torch": "0.0.1-other"})
    _run(tmp_path / "s", src, {}, calls)
    assert len(calls) == 2


def test_a_manifest_of_the_old_format_is_not_current(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x")
    calls: list[int] = []
    st = _run(tmp_path / "s", src, {}, calls)
    old = read_json(st.manifest_path)
    del old["code"]
    write_json(st.manifest_path, {**old, "code_version": "0.1.0+0123456789ab"})
    _run(tmp_path / "s", src, {}, calls)
    assert len(calls) == 2


def test_the_record_holds_the_loaded_package_modules() -> None:
    record = cache.code_record()["modules"]
    assert {"minutes", "minutes.cache", "minutes.io"} <= set(record)
    assert all(name == "minutes" or name.startswith("minutes.") for name in record)
    assert record["minutes.cache"] == cache.hash_source(Path(cache.__file__))


def test_comments_docstrings_and_layout_are_not_code(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text('"""One module."""\nimport os\n\ndef g(x):\n    """Why g."""\n    return x + 1\n')
    before = cache.hash_source(f)
    f.write_text('"""The module, described anew."""\nimport os  # needed\n\n\ndef g(x):  # doubled?\n'
                 '    """Why g, said better."""\n    return (x\n            + 1)\n')
    assert cache.hash_source(f) == before
    f.write_text('import os\n\ndef g(x):\n    return x + 2\n')
    assert cache.hash_source(f) != before, "a changed constant is a change"
    f.write_text('import os\n\ndef g(x):\n    return "x + 1"\n')
    assert cache.hash_source(f) != before, "a string that is not a docstring is code"
    f.write_text("def g(:\n")
    assert cache.hash_source(f) == cache.hash_file(f), "a file that does not parse is hashed as bytes"


def test_code_version_follows_the_named_package(probe: Path) -> None:
    before = cache.code_version([PROBE])
    assert cache.code_version([PROBE]) == before
    probe.write_text("FACTOR = 4  # changed again\n")
    assert cache.code_version([PROBE]) != before
    with pytest.raises(ValueError, match="no module"):
        cache.code_version(["minutes.no_such_module_here"])


def test_a_memo_is_reused_for_the_same_parts_and_recomputed_for_others(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        return {"rows": [1, 2, 3]}

    first, info = cache.memoized(tmp_path, "eval", {"data": "a", "k": [1, 5]}, compute)
    again, info2 = cache.memoized(tmp_path, "eval", {"data": "a", "k": [1, 5]}, compute)
    assert first == again == {"rows": [1, 2, 3]} and len(calls) == 1
    assert not info["cached"] and info2["cached"] and info2["key"] == info["key"]
    assert info2["computed_at"] == info["computed_at"]
    _, info3 = cache.memoized(tmp_path, "eval", {"data": "b", "k": [1, 5]}, compute)
    assert not info3["cached"] and info3["key"] != info["key"] and len(calls) == 2


def test_a_damaged_memo_is_recomputed_and_old_keys_are_pruned(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    _, info = cache.memoized(tmp_path, "eval", {"v": 0}, compute)
    (tmp_path / f"eval-{info['key']}.pkl").write_bytes(b"\x80\x05 truncated")
    value, info2 = cache.memoized(tmp_path, "eval", {"v": 0}, compute)
    assert value == 2 and not info2["cached"]
    for v in range(1, 6):
        cache.memoized(tmp_path, "eval", {"v": v}, compute)
    assert len(list(tmp_path.glob("eval-*.pkl"))) == cache.MEMO_KEEP
    assert not list(tmp_path.glob(".eval-*"))  # no temporary left behind
