"""Tables and plots of the ETL products, for notebook 10_etl (the notebook only calls these)."""
from __future__ import annotations

from typing import Any


def domain_table(validation: dict[str, Any]) -> Any:
    """Meetings, utterances, queries and chunks per domain (a DataFrame)."""
    import pandas as pd

    df = pd.DataFrame(validation["per_domain"]).T
    df.loc["total"] = df.sum()
    return df.astype(int)


def checks_table(validation: dict[str, Any]) -> Any:
    """One row per validation check: how many findings, and the first of them."""
    import pandas as pd

    rows = [{"check": k, "findings": len(v), "example": v[0] if v else ""} for k, v in validation["checks"].items()]
    return pd.DataFrame(rows).set_index("check")


def problems_table(validation: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame(validation["problems"], columns=["file", "kind", "reason"])


def plot_lengths(utterances: list[dict[str, Any]], chunks: Any, max_tokens: int | None = None) -> Any:
    """Histograms: words per utterance (by domain) and tokens per chunk."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
    by_domain: dict[str, list[int]] = {}
    for u in utterances:
        if u["text"]:
            by_domain.setdefault(u["domain"], []).append(len(u["text"].split()))
    bins = np.logspace(0, np.log10(max(max(v) for v in by_domain.values()) + 1), 40) if by_domain else 10
    for domain, values in sorted(by_domain.items()):
        ax1.hist(values, bins=bins, alpha=0.55, label=f"{domain} ({len(values)})")
    ax1.set_xscale("log")
    ax1.set(title="Words per utterance", xlabel="words (log scale)", ylabel="utterances")
    ax1.legend()
    ax2.hist(chunks["n_tokens"], bins=40, color="tab:purple")
    if max_tokens:
        ax2.axvline(max_tokens, color="k", ls="--", lw=1, label=f"max_tokens={max_tokens}")
        ax2.legend()
    ax2.set(title="Tokens per chunk (embedding tokenizer)", xlabel="tokens", ylabel="chunks")
    fig.tight_layout()
    return fig


def asr_table(stage_dir: Any) -> Any:
    """WER and real-time factor per transcribed meeting, plus the overall row (from asr_wer.json)."""
    import pandas as pd

    from minutes import schema
    from minutes.io import read_json

    path = stage_dir / schema.ASR_WER
    if not path.exists():
        return pd.DataFrame(columns=["meeting_id", "wer"])
    data = read_json(path)
    rows = [dict(m) for m in data["meetings"]]
    if rows:
        rows.append({"meeting_id": "overall", **data["overall"]})
    cols = ["meeting_id", "wer", "ref_words", "substitutions", "deletions", "insertions", "audio_s", "rtf"]
    return pd.DataFrame(rows).reindex(columns=cols).set_index("meeting_id")


def key_figures(products: dict[str, Any], stage_dir: Any) -> dict[str, Any]:
    """The figures notebook 10 records in run.json."""
    from minutes import schema
    from minutes.io import read_json

    v = products["validation"]
    figures: dict[str, Any] = {f"n_{k}": v["counts"][k] for k in ("meetings", "utterances", "queries", "chunks",
                                                                   "empty_utterances", "problems")}
    figures["validation_ok"] = bool(v["ok"])
    figures["chunk_tokens_mean"] = v["lengths"]["chunk_tokens"].get("mean")
    path = stage_dir / schema.ASR_WER
    if path.exists():
        data = read_json(path)
        figures["asr_backend"] = data.get("backend")
        figures["asr_wer"] = data["overall"].get("wer")
        figures["asr_rtf"] = data["overall"].get("rtf")
        figures["asr_audio_s"] = data["overall"].get("audio_s")
    path = stage_dir / schema.DIARIZATION
    if path.exists():
        overall = read_json(path)["overall"]
        figures.update(diarization_der=overall.get("der"), diarization_cpwer=overall.get("cpwer_mean"),
                       diarization_rtf=overall.get("rtf"))
    return figures


def _diarization(stage_dir: Any) -> dict[str, Any] | None:
    from minutes import schema
    from minutes.io import read_json

    path = stage_dir / schema.DIARIZATION
    return read_json(path) if path.exists() else None


def diarization_table(stage_dir: Any) -> Any:
    """DER (missed speech, false alarm, confusion), cpWER and WER per recording whose turns are
    known, in percent, with the pooled row (from diarization.json)."""
    import pandas as pd

    from minutes.asr.report import score_table

    data = _diarization(stage_dir)
    if not data or not data["recordings"]:
        return pd.DataFrame(columns=["case", "meeting_id", "der %"])
    rows = [dict(r, rtf_cpu=r.get("rtf")) for r in data["recordings"]]
    return score_table(rows).rename(columns={"case": "source", "rtf_cpu": "rtf"})


def diarization_timeline(stage_dir: Any, meeting_id: str | None = None) -> Any:
    """Who spoke when, the known turns above the diarized ones, for one recording (the first)."""
    from minutes.asr.report import timeline_figure

    data = _diarization(stage_dir)
    rows = [r for r in (data or {}).get("recordings", []) if meeting_id in (None, r["meeting_id"])]
    if not rows:
        return None
    r = rows[0]
    return timeline_figure([tuple(x) for x in r["reference"]], r["turns"],
                           f"{r['meeting_id']}: reference (top) vs diarized (bottom), DER {100 * r['der']:.1f} %")


def transcript_table(stage_dir: Any, limit: int = 12) -> Any:
    """The first segments of each ASR transcript (transcripts/*.json): who, when, what."""
    import json

    import pandas as pd

    from minutes import schema

    rows = []
    for f in sorted((stage_dir / schema.TRANSCRIPTS).glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        for s in data["segments"][:limit]:
            rows.append({"meeting_id": data.get("meeting_id", f.stem), "speaker": s.get("speaker", ""),
                         "start": s["start"], "end": s["end"], "text": s["text"]})
    return pd.DataFrame(rows, columns=["meeting_id", "speaker", "start", "end", "text"])


def plot_asr_timeline(utterances: list[dict[str, Any]], meeting_id: str | None = None) -> Any:
    """Who speaks when in one transcribed meeting (a bar per ASR utterance, a row per speaker)."""
    import matplotlib.pyplot as plt

    asr = [u for u in utterances if u["source"] == "asr" and (meeting_id is None or u["meeting_id"] == meeting_id)]
    if asr and meeting_id is None:
        meeting_id = asr[0]["meeting_id"]
        asr = [u for u in asr if u["meeting_id"] == meeting_id]
    fig, ax = plt.subplots(figsize=(12, 2.2 + 0.3 * len({u["speaker"] for u in asr})))
    speakers = sorted({u["speaker"] for u in asr})
    for row, spk in enumerate(speakers):
        spans = [(u["start"], max(0.05, u["end"] - u["start"])) for u in asr if u["speaker"] == spk]
        ax.broken_barh(spans, (row - 0.35, 0.7), color=f"C{row % 10}")
    ax.set_yticks(range(len(speakers)), speakers)
    ax.set(title=f"ASR segments of {meeting_id or '(no transcribed meeting)'}", xlabel="seconds")
    fig.tight_layout()
    return fig


def reference_vs_asr(stage_dir: Any, limit: int = 8) -> Any:
    """Reference turns beside what ASR heard in the same time span (first transcript with timed
    references): the quickest way to see what the WER is made of."""
    import json

    import pandas as pd

    from minutes import schema

    for f in sorted((stage_dir / schema.TRANSCRIPTS).glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        ref = data.get("reference")
        if not isinstance(ref, list) or not ref:
            continue
        rows = []
        for turn in ref[:limit]:
            heard = [s["text"] for s in data["segments"]
                     if min(s["end"], turn["end"]) - max(s["start"], turn["start"]) > 0.5 * (s["end"] - s["start"])]
            rows.append({"speaker": turn["speaker"], "start": turn["start"], "end": turn["end"],
                         "reference": turn["text"], "asr": " ".join(heard)})
        return pd.DataFrame(rows).style.set_caption(data.get("meeting_id", f.stem)) if rows else pd.DataFrame(rows)
    return pd.DataFrame(columns=["speaker", "start", "end", "reference", "asr"])
