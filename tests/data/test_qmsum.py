"""QMSum reading, bad input and split handling, on small files written in QMSum's format."""
import json
from pathlib import Path

import pytest

from minutes.config.data import QmsumSource
from minutes.data.problems import BadInput
from minutes.data.qmsum import list_meetings, read_meeting, stratified_slice
from minutes.data.splits import SplitOverlap, build_splits, check_disjoint


def meeting_json(n_turns: int = 4, spans=(["1", "2"],)) -> dict:
    return {
        "meeting_transcripts": [{"speaker": f"S{i % 2}", "content": "{vocalsound}" if i == 0 else f"turn {i} ."}
                                for i in range(n_turns)],
        "general_query_list": [{"query": "Summarize the whole meeting.", "answer": "They met."}],
        "specific_query_list": [{"query": "What about x?", "answer": "x.", "relevant_text_span": list(spans)}],
        "topic_list": [{"topic": "x", "relevant_text_span": [["0", "3"]]}],
    }


def cfg(path: Path) -> QmsumSource:
    return QmsumSource(path=path, splits=["train", "val"])


def test_read_meeting_keeps_turn_indices_and_estimates_times(tmp_path):
    f = tmp_path / "ES2002a.json"
    f.write_text(json.dumps(meeting_json()))
    sm = read_meeting(f, "train", cfg(tmp_path))
    assert [u["idx"] for u in sm.utterances] == [0, 1, 2, 3]
    assert sm.utterances[0]["text"] == ""  # tag-only turn kept, not renumbered
    assert sm.utterances[1]["text"] == "turn 1."
    assert all(u["timing"] == "estimated" and u["source"] == "manual" for u in sm.utterances)
    assert all(a["end"] <= b["start"] for a, b in zip(sm.utterances, sm.utterances[1:]))
    assert sm.meeting["domain"] == "Product" and sm.meeting["n_empty"] == 1
    kinds = {q["kind"]: q for q in sm.queries}
    assert kinds["specific"]["spans"] == [[1, 2]] and kinds["general"]["spans"] == []
    assert kinds["specific"]["query_id"] == "ES2002a/specific/0"


def test_out_of_bounds_span_is_reported_and_dropped(tmp_path):
    f = tmp_path / "Bed004.json"
    f.write_text(json.dumps(meeting_json(spans=(["1", "2"], ["3", "9"]))))
    sm = read_meeting(f, "val", cfg(tmp_path))
    assert [q["spans"] for q in sm.queries if q["kind"] == "specific"] == [[[1, 2]]]
    assert len(sm.problems) == 1
    assert sm.problems[0]["kind"] == "span-out-of-bounds" and "Bed004.json" in sm.problems[0]["file"]
    assert "[3, 9]" in sm.problems[0]["reason"]


def test_query_with_only_bad_spans_is_dropped(tmp_path):
    f = tmp_path / "covid_1.json"
    f.write_text(json.dumps(meeting_json(spans=(["5", "1"],))))
    sm = read_meeting(f, "train", cfg(tmp_path))
    assert [q["kind"] for q in sm.queries] == ["general"]
    assert {p["kind"] for p in sm.problems} == {"span-out-of-bounds", "schema"}


@pytest.mark.parametrize("content,kind", [
    (b'{"meeting_transcripts": [', "invalid-json"),
    (b'{"meeting_transcripts": [{"speaker": "A", "content": "caf\xe9"}]}', "not-utf8"),
    (b'{"meeting_transcripts": []}', "schema"),
    (b'[1, 2]', "schema"),
])
def test_unusable_files_raise_bad_input_naming_the_file(tmp_path, content, kind):
    f = tmp_path / "TS3003a.json"
    f.write_bytes(content)
    with pytest.raises(BadInput) as info:
        read_meeting(f, "train", cfg(tmp_path))
    assert info.value.kind == kind
    assert str(f) in str(info.value)


def test_stratified_slice_covers_domains_deterministically():
    files = [Path(f"{m}.json") for m in ("Bed004", "Bed005", "ES2002a", "ES2002b", "covid_0", "IS1000a")]
    picked = [p.stem for p in stratified_slice(sorted(files), 3)]
    assert picked == ["ES2002a", "Bed004", "covid_0"]
    assert [p.stem for p in stratified_slice(sorted(files), None)][:4] == ["ES2002a", "Bed004", "covid_0", "ES2002b"]


def test_missing_split_folder_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "ES2002a.json").write_text(json.dumps(meeting_json()))
    files, problems = list_meetings(QmsumSource(path=tmp_path, splits=["train", "test"]))
    assert [f.name for f in files["train"]] == ["ES2002a.json"] and files["test"] == []
    assert problems[0]["kind"] == "missing-split"


def test_splits_are_disjoint_and_overlap_is_caught():
    meetings = [{"meeting_id": "a", "split": "train"}, {"meeting_id": "b", "split": "val"}]
    assert build_splits(meetings) == {"train": ["a"], "val": ["b"], "test": []}
    with pytest.raises(SplitOverlap, match="'a'"):
        check_disjoint({"train": ["a"], "val": ["a"]})
    with pytest.raises(ValueError, match="unknown split"):
        build_splits([{"meeting_id": "c", "split": "dev"}])


def test_real_qmsum_meetings_never_appear_in_two_splits(qmsum_dir):
    files, _ = list_meetings(QmsumSource(path=qmsum_dir, splits=["train", "val"]))
    splits = {s: [f.stem for f in fs] for s, fs in files.items()}
    check_disjoint(splits)
    assert len(splits["train"]) == 162 and len(splits["val"]) == 35
