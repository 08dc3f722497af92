"""Renaming speakers: the rules of a rename, the stored patches, and a service that comes back
after a restart, a crash between the two writes, or a rebuilt index with the renamed names
applied exactly once (in-process state on a private work dir; see conftest.write_corpus)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minutes.config import load_params
from minutes.serve.errors import ApiError
from minutes.serve.speaker_names import SpeakerNames, apply, check_mapping, missing_in_index
from tests.serve.conftest import write_corpus


def test_a_mapping_keeps_what_changes_and_refuses_what_is_wrong() -> None:
    assert check_mapping({"Speaker 1": " Alice ", "Speaker 2": "Speaker 2"}, ["Speaker 1", "Speaker 2"]) == {
        "Speaker 1": "Alice"}
    assert check_mapping({"Speaker 1": "Alice", "Speaker 2": "Alice"}, ["Speaker 1", "Speaker 2"]) == {
        "Speaker 1": "Alice", "Speaker 2": "Alice"}  # one person diarized as two
    for names, message in [({}, "at least one"), ({"Speaker 9": "Bob"}, "not a speaker of this meeting"),
                           ({"Speaker 1": ""}, "1-64 characters"), ({"Speaker 1": "x" * 65}, "1-64 characters"),
                           ({"Speaker 1": "Dr: Who"}, "without ':'"), ({"Speaker 1": "two\nlines"}, "one line")]:
        with pytest.raises(ApiError, match=message) as err:
            check_mapping(names, ["Speaker 1", "Speaker 2"])
        assert err.value.status == 422


def test_patches_apply_in_order_so_names_can_swap() -> None:
    utts = [{"speaker": "A", "text": "one"}, {"speaker": "B", "text": "two"}, {"speaker": "C", "text": "three"}]
    out = apply(utts, [{"A": "B", "B": "A"}, {"C": "Cy"}])
    assert [u["speaker"] for u in out] == ["B", "A", "Cy"]
    assert [u["speaker"] for u in utts] == ["A", "B", "C"]  # the originals are not changed


def test_missing_in_index_applies_only_what_the_index_lacks() -> None:
    one, two = {"A": "B"}, {"B": "C"}
    assert missing_in_index([one, two], []) == [one, two]
    assert missing_in_index([one, two], [one]) == [two]
    assert missing_in_index([one, two], [one, two]) == []
    assert missing_in_index([one], [two]) is None


def test_the_store_keeps_patches_in_order_and_undoes_the_last(tmp_path: Path) -> None:
    names = SpeakerNames(tmp_path / "speakers")
    assert names.patches("m1") == [] and names.meetings() == []
    names.add("m1", {"Speaker 1": "Alice"})
    names.add("m1", {"Alice": "Alicia"})
    assert SpeakerNames(tmp_path / "speakers").patches("m1") == [{"Speaker 1": "Alice"}, {"Alice": "Alicia"}]
    names.drop_last("m1")
    assert names.patches("m1") == [{"Speaker 1": "Alice"}]
    names.drop_last("m1")
    assert names.meetings() == []


@pytest.fixture
def state_params(tmp_path: Path) -> Any:
    params = load_params("ci", [f"work_dir={tmp_path / 'work'}", "data.chunks.target_tokens=48",
                                "data.chunks.max_tokens=80", "data.chunks.overlap_tokens=12"])
    write_corpus(params)
    return params


def _speakers(state: Any, meeting_id: str) -> tuple[set[str], set[str]]:
    corpus = {u["speaker"] for u in state.corpus.utterances(meeting_id)}
    index = {s for ss in state.retriever.chunks().query("meeting_id == @meeting_id")["speakers"] for s in ss}
    return corpus, index


def test_renames_survive_restart_crash_and_rebuild_applied_once(state_params: Any) -> None:
    from minutes.index.build import build_index
    from minutes.serve.ingest import rename_speakers
    from minutes.serve.state import build_state

    swap = {"Project Manager": "Marketing", "Marketing": "Project Manager"}
    state = build_state(state_params, watch=False)
    original = [u["speaker"] for u in state.corpus.utterances("design01")]
    out = rename_speakers(state, "design01", swap)
    assert out["renamed"] == swap and out["index_version"] == state.retriever.version
    swapped = [swap.get(s, s) for s in original]
    assert [u["speaker"] for u in state.corpus.utterances("design01")] == swapped
    assert _speakers(state, "budget02")[0] == {"Chair", "Member Smith", "Member Jones"}  # others untouched

    # a restart: the corpus loads the original names and applies the patch; the index has it
    again = build_state(state_params, watch=False)
    assert [u["speaker"] for u in again.corpus.utterances("design01")] == swapped
    assert again.retriever.version == state.retriever.version  # nothing re-applied to the index

    # a crash after storing a patch, before the index took it: the next start applies it
    again.speaker_names.add("design01", {"User Interface": "Uma"})
    after_crash = build_state(state_params, watch=False)
    corpus, index = _speakers(after_crash, "design01")
    assert "Uma" in corpus and corpus == index and "User Interface" not in index

    # a rebuilt index starts from the original names: both patches, once each and in order
    build_index(state_params, force=True, progress=False)
    rebuilt = build_state(state_params, watch=False)
    corpus, index = _speakers(rebuilt, "design01")
    assert corpus == index == {swap.get(s, s) if s != "User Interface" else "Uma" for s in original}
    hit = rebuilt.retriever.search("Uma", 1, meeting_id="design01", method="bm25")[0]
    assert "Uma" in hit["speakers"] and "Uma: " in hit["text"]
    for s in (state, again, after_crash, rebuilt):
        if s.answer_log is not None:
            s.answer_log.close()


def test_an_unknown_meeting_or_speaker_is_refused(state_params: Any) -> None:
    from minutes.serve.ingest import rename_speakers
    from minutes.serve.state import build_state

    state = build_state(state_params, watch=False)
    version = state.retriever.version
    with pytest.raises(ApiError, match="not known") as err:
        rename_speakers(state, "nope01", {"A": "B"})
    assert err.value.status == 404
    with pytest.raises(ApiError, match="not a speaker"):
        rename_speakers(state, "design01", {"Chair": "Boss"})  # a speaker of another meeting
    assert state.retriever.version == version and state.speaker_names.meetings() == []
