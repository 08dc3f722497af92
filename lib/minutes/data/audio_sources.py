"""Audio sources -> ASR meetings, transcripts and WER, inside the ETL stage.

Three sources give recordings: synthesized meetings (espeak-ng renders of QMSum turns, local/ci),
a folder of the user's own recordings (`data.folder.path`), and AMI Mix-Headset audio with NXT
reference transcripts (`data.ami.enabled`, chameleon). All recordings are transcribed together
(`minutes.asr.batch.transcribe_many`: Ray tasks for many files), each becomes a meeting of
`source: "asr"` utterances with real times, and wherever a reference transcript exists the WER
is computed (asr_wer.json, per meeting and overall). A recording that cannot be decoded is
reported with its file name and the batch goes on.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minutes import schema
from minutes.config import Params
from minutes.data.problems import BadInput, ProblemLog
from minutes.data.qmsum import SourceMeeting
from minutes.data.synth import RenderedTurn, SynthError, render_meeting, script_from_utterances, speaker_at
from minutes.io import atomic_path, write_json
from minutes.text import clean_text, word_count

_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class AudioResult:
    meetings: list[SourceMeeting] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class AudioJob:
    """One recording to transcribe, with what is known about it."""

    meeting_id: str
    path: Path
    source: str  # synth | folder | ami
    split: str
    domain: str
    derived_from: str = ""
    reference: list[RenderedTurn] | None = None  # timed reference turns (synth, ami)
    reference_text: str | None = None  # untimed reference (a folder's sidecar .txt)


def synth_jobs(params: Params, sources: list[SourceMeeting], audio_dir: Path, problems: ProblemLog,
               progress: bool = True) -> list[AudioJob]:
    """Render the first `data.synth.meetings` QMSum meetings (train first) with espeak-ng."""
    from tqdm.auto import tqdm

    cfg = params.data.synth
    if not cfg.enabled or cfg.meetings == 0:
        return []
    order = {"train": 0, "val": 1, "test": 2}
    picked = sorted(sources, key=lambda s: order.get(s.meeting["split"], 3))[:cfg.meetings]
    jobs = []
    for s in tqdm(picked, desc="synthesizing (espeak-ng)", disable=not progress):
        mid = s.meeting["meeting_id"]
        script = script_from_utterances(s.utterances, cfg.max_turns, cfg.max_words_per_turn)
        wav = audio_dir / f"{mid}.synth.wav"
        try:
            turns = render_meeting(script, wav, cfg.words_per_minute, cfg.pause_seconds)
        except SynthError as exc:
            problems.add(mid, str(exc), "synth")
            continue
        jobs.append(AudioJob(f"{mid}.synth", wav, "synth", s.meeting["split"], s.meeting["domain"], mid, turns))
    for stale in set(audio_dir.glob("*.synth.wav")) - {j.path for j in jobs}:  # from other parameters
        stale.unlink()
    return jobs


def folder_jobs(params: Params, taken: set[str]) -> list[AudioJob]:
    """Every recording in `data.folder.path` (by extension); a sidecar `<name>.txt` is its reference."""
    cfg = params.data.folder
    if cfg.path is None:
        return []
    if not cfg.path.is_dir():
        raise FileNotFoundError(f"data.folder.path: {cfg.path} is not a directory of recordings")
    exts = {e.lower() for e in cfg.extensions}
    jobs = []
    for f in sorted(p for p in cfg.path.iterdir() if p.is_file() and p.suffix.lower() in exts):
        mid = _ID_CHARS.sub("_", f.stem).strip("._-") or "recording"
        base, n = mid, 2
        while mid in taken:
            mid, n = f"{base}-{n}", n + 1
        taken.add(mid)
        side = f.with_suffix(".txt")
        ref = side.read_text(encoding="utf-8", errors="replace") if side.is_file() else None
        jobs.append(AudioJob(mid, f, "folder", "test", "Other", reference_text=ref))
    return jobs


def ami_jobs(params: Params, sources: list[SourceMeeting], problems: ProblemLog) -> list[AudioJob]:
    """AMI Mix-Headset recordings of the selected QMSum Product meetings, with NXT references."""
    from minutes.data import ami

    cfg = params.data.ami
    if not cfg.enabled:
        return []
    root = cfg.path or (params.work_dir / "ami")
    try:
        annotations = ami.ensure_annotations(cfg.annotations_url, root)
    except (BadInput, OSError) as exc:
        problems.add(cfg.annotations_url, f"AMI annotations unavailable ({exc})", "download")
        return []
    product = [s for s in sources if s.meeting["domain"] == "Product"][:cfg.max_meetings]
    jobs = []
    for s in product:
        mid = s.meeting["meeting_id"]
        try:
            reference = ami.parse_meeting(annotations, mid)
            wav = ami.download(cfg.audio_url.format(meeting=mid), root / "audio" / f"{mid}.Mix-Headset.wav")
        except BadInput as exc:
            problems.add_exc(exc)
            continue
        turns = [RenderedTurn(u["speaker"], u["text"], u["start"], u["end"], "") for u in reference]
        jobs.append(AudioJob(f"{mid}.ami", wav, "ami", s.meeting["split"], "Product", mid, turns))
    return jobs


def to_source_meeting(job: AudioJob, segments: list[dict[str, Any]], audio_s: float) -> SourceMeeting:
    """ASR segments as a meeting of `source: "asr"` utterances (speaker "Unknown" unless known)."""
    utterances = []
    for s in segments:
        text = clean_text(s["text"])
        if not text:
            continue
        utterances.append({"meeting_id": job.meeting_id, "idx": len(utterances),
                           "speaker": s.get("speaker") or "Unknown",
                           "start": s["start"], "end": s["end"], "text": text, "source": "asr",
                           "timing": "real", "domain": job.domain, "split": job.split})
    meeting = {"meeting_id": job.meeting_id, "split": job.split, "domain": job.domain, "source": job.source,
               "timing": "real", "file": job.path.name, "derived_from": job.derived_from,
               "n_utterances": len(utterances), "n_empty": 0,
               "n_words": sum(word_count(u["text"]) for u in utterances), "duration_s": round(audio_s, 3),
               "speakers": sorted({u["speaker"] for u in utterances}), "topics": []}
    return SourceMeeting(meeting, utterances)


def _reference_json(job: AudioJob) -> list[dict[str, Any]] | str | None:
    """The reference kept beside a transcript: timed turns (synth, AMI) or plain text (folder)."""
    if job.reference is not None:
        return [{"speaker": t.speaker, "start": t.start, "end": t.end, "text": t.text} for t in job.reference]
    return job.reference_text


def reference_text(job: AudioJob) -> str | None:
    if job.reference is not None:
        return " ".join(t.text for t in job.reference)
    return job.reference_text


def speakers_of(job: AudioJob, segments: list[dict[str, Any]], params: Params
                ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Segments with their speakers, and the diarization's scores where the turns are known.

    With `asr.diarization.in_etl` every recording is diarized ("Speaker 1..n"), also those whose
    source knows who spoke when (synth, AMI): that knowledge is the reference it is scored on.
    Without it, known turns label the segments by overlap and other recordings stay unlabelled."""
    dp = params.asr.diarization
    if not dp.in_etl:
        return [dict(s, speaker=speaker_at(job.reference, s["start"], s["end"])) if job.reference
                else dict(s) for s in segments], None
    from minutes.asr.diarization_metrics import cpwer, der
    from minutes.asr.diarize import diarize_file, label_segments

    stats: dict[str, Any] = {}
    turns = diarize_file(job.path, dp, stats=stats)
    labelled = label_segments([dict(s) for s in segments], turns)
    if not job.reference:
        return labelled, None
    reference = [(t.start, t.end, t.speaker) for t in job.reference]
    return labelled, {"case": job.source, "meeting_id": job.meeting_id, "audio_s": stats["audio_s"],
                      "seconds": stats["seconds"], "rtf": stats["rtf"],
                      "speakers_ref": len({t.speaker for t in job.reference}), "speakers_found": stats["speakers"],
                      **der(reference, turns), **cpwer([(t.speaker, t.text) for t in job.reference], labelled),
                      "reference": [list(r) for r in reference], "turns": turns}


def diarization_report(rows: list[dict[str, Any]], params: Params) -> dict[str, Any]:
    """diarization.json: per recording with known turns, and DER pooled over reference time."""
    from minutes.asr.diarization_metrics import pooled

    audio_s = sum(r["audio_s"] for r in rows)
    return {"backend": params.asr.diarization.backend, "params": params.asr.diarization.model_dump(mode="json"),
            "recordings": rows, "overall": {**pooled(rows), "audio_s": round(audio_s, 3), "rtf": round(
                sum(r["seconds"] for r in rows) / audio_s, 4) if audio_s else None}}


def audio_meetings(params: Params, sources: list[SourceMeeting], problems: ProblemLog, stage_dir: Path,
                   progress: bool = True) -> AudioResult:
    """Render/collect recordings, transcribe them, and score them; see the module docstring."""
    from minutes.asr.batch import transcribe_many
    from minutes.asr.render import to_json
    from minutes.asr.wer import wer_report

    result = AudioResult()
    t0 = time.time()
    jobs = synth_jobs(params, sources, stage_dir / "audio", problems, progress)
    result.timings["synth_s"] = round(time.time() - t0, 2)
    taken = {s.meeting["meeting_id"] for s in sources} | {j.meeting_id for j in jobs}
    jobs += folder_jobs(params, taken)
    jobs += ami_jobs(params, sources, problems)
    if not jobs:
        return result

    t0 = time.time()
    outcomes = transcribe_many([j.path for j in jobs], params, progress)
    result.timings["transcribe_s"] = round(time.time() - t0, 2)

    scored: list[tuple[AudioJob, dict[str, Any]]] = []
    diarized: list[dict[str, Any]] = []
    with atomic_path(stage_dir / schema.TRANSCRIPTS) as tdir:
        tdir.mkdir()
        for job, out in zip(jobs, outcomes):
            if "error" in out:
                problems.add(job.path, out["error"].split(": ", 1)[-1], "audio")
                continue
            stats = out["stats"]
            segments, scores = speakers_of(job, out["segments"], params)
            if scores is not None:
                diarized.append(scores)
            sm = to_source_meeting(job, segments, stats["audio_s"])
            result.meetings.append(sm)
            (tdir / f"{job.meeting_id}.json").write_text(
                to_json(segments, meeting_id=job.meeting_id, source=job.source, file=job.path.name,
                        model=params.asr.model, reference=_reference_json(job), **stats), encoding="utf-8")
            scored.append((job, stats))
    result.outputs.append(schema.TRANSCRIPTS)

    hyps = {sm.meeting["meeting_id"]: " ".join(u["text"] for u in sm.utterances) for sm in result.meetings}
    with_ref = [(j, s) for j, s in scored if reference_text(j)]
    report = wer_report((j.meeting_id, reference_text(j) or "", hyps[j.meeting_id]) for j, _ in with_ref)
    timing = {j.meeting_id: s for j, s in scored}
    for row in report["meetings"]:
        st = timing[row["meeting_id"]]
        row.update(audio_s=st["audio_s"], seconds=st["seconds"], rtf=st["rtf"],
                   source=next(j.source for j, _ in with_ref if j.meeting_id == row["meeting_id"]))
    audio_s = sum(s["audio_s"] for _, s in scored)
    seconds = sum(s["seconds"] for _, s in scored)
    report["overall"].update(audio_s=round(audio_s, 3), seconds=round(seconds, 3),
                             rtf=round(seconds / audio_s, 4) if audio_s else None, recordings=len(scored))
    report.update(backend=params.asr.backend, model=params.asr.model, compute_type=params.asr.compute_type,
                  vad=params.asr.vad, failed=len(jobs) - len(scored))
    write_json(stage_dir / schema.ASR_WER, report)
    result.outputs.append(schema.ASR_WER)
    if params.asr.diarization.in_etl:
        write_json(stage_dir / schema.DIARIZATION, diarization_report(diarized, params))
        result.outputs.append(schema.DIARIZATION)
        result.timings["diarize_s"] = round(sum(r["seconds"] for r in diarized), 2)
    if (stage_dir / "audio").is_dir():
        result.outputs.append("audio")
    result.counts.update(audio_files=len(jobs), asr_meetings=len(scored),
                         asr_utterances=sum(len(sm.utterances) for sm in result.meetings),
                         audio_seconds=round(audio_s, 1))
    result.summary = {"backend": params.asr.backend, "model": params.asr.model, "wer": report["overall"]["wer"],
                      "rtf": report["overall"]["rtf"], "audio_s": round(audio_s, 1)}
    return result
