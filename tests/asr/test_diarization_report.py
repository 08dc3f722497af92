"""Notebook 10's diarization views: the timeline has a lane per speaker, the table pools per case."""
import matplotlib

matplotlib.use("Agg")

from minutes.asr.report import score_table, timeline_figure  # noqa: E402


def _row(case: str, mid: str, der: float, ref_s: float) -> dict:
    return {"case": case, "meeting_id": mid, "audio_s": ref_s + 1, "speakers_ref": 2, "speakers_found": 2,
            "der": der, "missed": der / 2, "false_alarm": 0.0, "confusion": der / 2, "cpwer": 0.3, "wer": 0.25,
            "rtf_cpu": 0.05, "reference_s": ref_s}


def test_timeline_has_a_lane_per_reference_and_diarized_speaker():
    fig = timeline_figure([(0, 2, "Ann"), (2.5, 4, "Bob")], [{"start": 0, "end": 4, "speaker": "Speaker 1"}])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["reference: Ann", "reference: Bob", "diarized: Speaker 1"]


def test_table_pools_der_by_reference_time():
    table = score_table([_row("standard", "a", 0.1, 30.0), _row("standard", "b", 0.4, 10.0)])
    pooled = table[table["meeting_id"] == "(all)"].iloc[0]
    assert pooled["der %"] == round((0.1 * 30 + 0.4 * 10) / 40 * 100, 1)
    assert list(table["der %"][:2]) == [10.0, 40.0]
