"""The ETL stage end to end on a small QMSum-format folder: products, bad input, cache, strict."""
import json
import shutil
import subprocess

import pytest

from minutes import schema
from minutes.config import load_params
from minutes.data.etl import load_products, run_etl
from minutes.data.problems import StrictFailure
from minutes.data.splits import check_disjoint


@pytest.fixture
def corpus(tmp_path, qmsum_dir):
    """Two real meetings per split, plus a truncated JSON and a non-UTF-8 file in train/."""
    root = tmp_path / "qmsum"
    for split in ("train", "val"):
        (root / split).mkdir(parents=True)
        for f in sorted((qmsum_dir / split).glob("*.json"))[:2]:
            shutil.copy(f, root / split / f.name)
    (root / "train" / "broken_1.json").write_text('{"meeting_transcripts": [', encoding="utf-8")
    (root / "train" / "latin_2.json").write_bytes(b'{"meeting_transcripts": [{"speaker": "A", "content": "caf\xe9"}]}')
    return root


def params_for(corpus, ci_overrides, *extra):
    return load_params("ci", ci_overrides + [f"data.qmsum.path={corpus}", "data.synth.enabled=false",
                                             "data.qmsum.max_meetings_per_split=10", *extra])


def test_products_and_bad_input_report(corpus, ci_overrides):
    params = params_for(corpus, ci_overrides)
    manifest = run_etl(params, progress=False)
    stage = params.stage_dir("etl")
    for name in (schema.UTTERANCES, schema.QUERIES, schema.MEETINGS, schema.SPLITS, schema.CHUNKS, schema.VALIDATION):
        assert (stage / name).is_file()
    p = load_products(stage)
    assert manifest["counts"]["meetings"] == 4 and len(p["meetings"]) == 4
    check_disjoint(p["splits"])
    assert len(p["splits"]["train"]) == 2 and len(p["splits"]["val"]) == 2
    assert p["validation"]["ok"]
    problems = {json.dumps(x) for x in p["validation"]["problems"]}
    assert any("broken_1.json" in x and "invalid-json" in x for x in problems)
    assert any("latin_2.json" in x and "not-utf8" in x for x in problems)
    # every chunk belongs to a meeting of its split, and every query's spans are inside its meeting
    split_of = {m["meeting_id"]: m["split"] for m in p["meetings"]}
    assert all(split_of[c.meeting_id] == c.split for c in p["chunks"].itertuples())
    n = {m["meeting_id"]: m["n_utterances"] for m in p["meetings"]}
    assert all(0 <= a <= b < n[q["meeting_id"]] for q in p["queries"] for a, b in q["spans"])
    assert {q["kind"] for q in p["queries"]} == {"general", "specific"}
    assert not list(stage.glob(".*.tmp"))


def test_rerun_with_unchanged_inputs_does_no_work(corpus, ci_overrides):
    params = params_for(corpus, ci_overrides)
    first = run_etl(params, progress=False)
    stage = params.stage_dir("etl")
    mtimes = {f.name: f.stat().st_mtime_ns for f in stage.iterdir()}
    again = run_etl(params, progress=False)
    assert again["cached"] is True and again["finished_at"] == first["finished_at"]
    assert {f.name: f.stat().st_mtime_ns for f in stage.iterdir()} == mtimes
    # a changed parameter or a changed input file re-runs the stage
    assert "cached" not in run_etl(params_for(corpus, ci_overrides, "data.chunks.overlap_tokens=20"), progress=False)
    (corpus / "val" / "extra_9.json").write_text((corpus / "train" / "broken_1.json").read_text())
    rerun = run_etl(params_for(corpus, ci_overrides, "data.chunks.overlap_tokens=20"), progress=False)
    assert "cached" not in rerun and rerun["counts"]["problems"] == 3


def test_strict_fails_after_writing_the_report(corpus, ci_overrides):
    params = params_for(corpus, ci_overrides, "data.strict=true")
    with pytest.raises(StrictFailure, match="broken_1.json"):
        run_etl(params, progress=False)
    stage = params.stage_dir("etl")
    assert (stage / schema.VALIDATION).is_file() and not (stage / "manifest.json").exists()


@pytest.mark.slow
def test_synthesized_meeting_and_folder_of_recordings(corpus, ci_overrides, tmp_path):
    """Audio sources: one synthesized meeting, and a folder with a good mp3 (with a reference) and a corrupt file."""
    from minutes.data.synth import render_meeting

    rec = tmp_path / "recordings"
    rec.mkdir()
    render_meeting([("A", "Good morning everyone, the weekly meeting starts now."),
                    ("B", "I finished the login page yesterday.")],
                   tmp_path / "standup.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(tmp_path / "standup.wav"),
                    str(rec / "Team standup.mp3")], check=True)
    (rec / "Team standup.txt").write_text("Good morning everyone, the weekly meeting starts now. "
                                               "I finished the login page yesterday.")
    (rec / "corrupt.wav").write_bytes(b"RIFF....WAVEjunk" * 30)
    (rec / "notes.pdf").write_bytes(b"%PDF")  # not a recording extension: ignored
    params = params_for(corpus, ci_overrides, "data.synth.enabled=true", "data.synth.meetings=1",
                        "data.synth.max_turns=3", "data.synth.max_words_per_turn=15", f"data.folder.path={rec}",
                        "asr.ray_min_files=99")  # in-process here; Ray is tested in tests/asr
    manifest = run_etl(params, progress=False)
    stage = params.stage_dir("etl")
    p = load_products(stage)
    by_id = {m["meeting_id"]: m for m in p["meetings"]}
    synth = next(m for m in p["meetings"] if m["source"] == "synth")
    assert synth["derived_from"] in by_id and synth["split"] == by_id[synth["derived_from"]]["split"]
    assert by_id["Team_standup"]["split"] == "test" and by_id["Team_standup"]["source"] == "folder"
    asr_utts = [u for u in p["utterances"] if u["source"] == "asr"]
    assert asr_utts and all(u["timing"] == "real" for u in asr_utts)
    # every recording is diarized: speakers as a user's recording gets them, scored where turns are known
    diarized = {u["meeting_id"]: set() for u in asr_utts}
    for u in asr_utts:
        diarized[u["meeting_id"]].add(u["speaker"])
    assert diarized["Team_standup"] == {"Speaker 1", "Speaker 2"}
    assert diarized[synth["meeting_id"]] and all(s.startswith("Speaker ") for s in diarized[synth["meeting_id"]])
    report = json.loads((stage / schema.DIARIZATION).read_text())
    assert [r["meeting_id"] for r in report["recordings"]] == [synth["meeting_id"]]  # the one with known turns
    row = report["recordings"][0]
    assert row["speakers_ref"] == len({s for _, _, s in row["reference"]}) and 0 <= row["der"] <= 1
    assert report["overall"]["der"] == row["der"] and 0 < report["overall"]["rtf"] < 1
    from minutes.data.report import diarization_table, diarization_timeline

    table = diarization_table(stage)
    assert list(table["meeting_id"]) == [synth["meeting_id"], "(all)"]
    assert table["der %"].iloc[0] == round(100 * row["der"], 1)
    fig = diarization_timeline(stage)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sum(x.startswith("reference: ") for x in labels) == row["speakers_ref"]
    assert sum(x.startswith("diarized: Speaker ") for x in labels) == row["speakers_found"]
    wer = json.loads((stage / schema.ASR_WER).read_text())
    assert {m["meeting_id"] for m in wer["meetings"]} == {synth["meeting_id"], "Team_standup"}
    assert wer["overall"]["wer"] <= 0.5 and wer["failed"] == 1  # tiny.en on espeak: ~0.1-0.3
    assert any("corrupt.wav" in x["file"] and x["kind"] == "audio" for x in p["validation"]["problems"])
    assert (stage / schema.TRANSCRIPTS / "Team_standup.json").is_file()
    assert manifest["counts"]["asr_meetings"] == 2 and not list(stage.glob(".*.tmp"))
