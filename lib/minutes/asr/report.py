"""Diarization for people to read (notebook 10): a timeline of reference vs diarized speakers and
a table of DER parts and cpWER per recording (rows as minutes.bench.diarize produces them)."""
from __future__ import annotations

from typing import Any, Sequence

from minutes.asr.turns import Turn

TABLE_COLUMNS = ("case", "meeting_id", "audio_s", "speakers_ref", "speakers_found", "der", "missed",
                 "false_alarm", "confusion", "cpwer", "wer", "rtf_cpu")


def timeline_figure(reference: Sequence[tuple[float, float, str]], hypothesis: Sequence[Turn],
                    title: str = "") -> Any:
    """A matplotlib Figure: one lane per speaker, reference speakers above, diarized below."""
    import matplotlib.pyplot as plt

    lanes = [("ref", s) for s in dict.fromkeys(s for _, _, s in reference)]
    lanes += [("hyp", s) for s in dict.fromkeys(t["speaker"] for t in hypothesis)]
    fig, ax = plt.subplots(figsize=(12, 0.45 * len(lanes) + 1.2))
    colours = plt.get_cmap("tab10")
    for y, (side, speaker) in enumerate(lanes):
        spans = ([(s, e - s) for s, e, who in reference if who == speaker] if side == "ref" else
                 [(t["start"], t["end"] - t["start"]) for t in hypothesis if t["speaker"] == speaker])
        ax.broken_barh(spans, (y - 0.4, 0.8), color=colours(y % 10), alpha=0.85 if side == "ref" else 0.6)
    ax.set_yticks(range(len(lanes)), [f"{'reference' if side == 'ref' else 'diarized'}: {s}" for side, s in lanes])
    n_ref = sum(side == "ref" for side, _ in lanes)
    ax.axhline(n_ref - 0.5, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_title(title or "who spoke when: reference (top) vs diarized (bottom)")
    fig.tight_layout()
    return fig


def score_table(rows: Sequence[dict[str, Any]]) -> Any:
    """A DataFrame of the per-recording figures, rates as percentages, plus a pooled row per case
    (DER parts weighted by reference speech time)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    df = df[[c for c in TABLE_COLUMNS if c in df.columns]].copy()
    rates = [c for c in ("der", "missed", "false_alarm", "confusion", "cpwer", "wer") if c in df.columns]
    if "reference_s" in pd.DataFrame(rows).columns and "case" in df.columns:
        weights = pd.DataFrame(rows)["reference_s"]
        pooled = []
        for case, part in df.groupby("case", sort=False):
            w = weights.loc[part.index]
            row = {"case": case, "meeting_id": "(all)", "audio_s": part["audio_s"].sum()}
            row.update({c: (part[c] * w).sum() / w.sum() for c in ("der", "missed", "false_alarm", "confusion")})
            row.update({c: part[c].mean() for c in ("cpwer", "wer") if c in part})
            pooled.append(row)
        df = pd.concat([df, pd.DataFrame(pooled)], ignore_index=True)
    df[rates] = (df[rates] * 100).round(1)
    return df.rename(columns={c: f"{c} %" for c in rates})
