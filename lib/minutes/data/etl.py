"""The ETL stage (notebook 10_etl): sources -> utterances, queries, meetings, splits, chunks,
validation report, as one cached stage in `params.stage_dir("etl")`.

Re-running with unchanged inputs, parameters and code does no work (cache.Stage). Every product
is written atomically and the manifest last, so a killed run simply runs again. Bad input is
reported in validation.json and the batch goes on; with `data.strict` the stage fails after
writing the report (and without a manifest, so nothing looks finished).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from minutes import schema
from minutes.cache import Stage
from minutes.config import Params
from minutes.data.problems import BadInput, ProblemLog
from minutes.data.qmsum import SourceMeeting, list_meetings, read_meeting
from minutes.data.splits import build_splits
from minutes.data.validate import validate
from minutes.io import atomic_path, read_json, read_jsonl, write_json, write_jsonl

log = logging.getLogger(__name__)


def etl_stage(params: Params, force: bool = False) -> Stage:
    """The stage object (folder, fingerprint): its parameters are everything the products depend on."""
    inputs: dict[str, Path] = {"qmsum": params.data.qmsum.path}
    if params.data.folder.path is not None:
        inputs["folder"] = params.data.folder.path
    stage_params = {"data": params.data.model_dump(mode="json"), "asr": params.asr.model_dump(mode="json"),
                    "embedding_model": params.index.embedding_model}
    return Stage(params.stage_dir("etl"), stage_params, inputs, force=force or params.force)


def read_qmsum(params: Params, problems: ProblemLog, progress: bool = True) -> list[SourceMeeting]:
    """Every selected QMSum meeting, cleaned; unusable files are reported and skipped."""
    from tqdm.auto import tqdm

    files, missing = list_meetings(params.data.qmsum)
    problems.extend(missing)
    todo = [(split, f) for split, fs in files.items() for f in fs]
    out = []
    for split, path in tqdm(todo, desc="QMSum meetings", disable=not progress):
        try:
            sm = read_meeting(path, split, params.data.qmsum)
        except BadInput as exc:
            problems.add_exc(exc)
            continue
        problems.extend(sm.problems)
        out.append(sm)
    return out


def run_etl(params: Params, force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run (or skip) the ETL stage; returns its manifest (with `cached: True` when skipped)."""
    from minutes.data.download import ensure_qmsum

    ensure_qmsum(params.data.qmsum)  # chameleon: fetch QMSum first (its content is a stage input)
    stage = etl_stage(params, force)
    if stage.is_current():
        log.info("etl: inputs, parameters and code unchanged; nothing to do (%s)", stage.dir)
        return {**(stage.manifest or {}), "cached": True}
    stage.begin()
    timings: dict[str, float] = {}
    problems = ProblemLog()

    t0 = time.time()
    sources = read_qmsum(params, problems, progress)
    timings["qmsum_s"] = round(time.time() - t0, 2)

    t0 = time.time()
    from minutes.data.audio_sources import audio_meetings  # heavy (ASR); only when needed

    audio = audio_meetings(params, sources, problems, stage.dir, progress=progress)
    sources += audio.meetings
    timings.update(audio.timings)
    timings["audio_s"] = round(time.time() - t0, 2)

    meetings = [s.meeting for s in sources]
    utterances = [u for s in sources for u in s.utterances]
    queries = [q for s in sources for q in s.queries]
    splits = build_splits(meetings)

    t0 = time.time()
    chunks = make_chunks(params, sources, progress)
    timings["chunk_s"] = round(time.time() - t0, 2)

    write_jsonl(stage.dir / schema.MEETINGS, meetings)
    write_jsonl(stage.dir / schema.UTTERANCES, utterances)
    write_jsonl(stage.dir / schema.QUERIES, queries)
    write_json(stage.dir / schema.SPLITS, splits)
    write_chunks(stage.dir / schema.CHUNKS, chunks)
    report = validate(meetings, utterances, queries, chunks, splits, problems.as_dicts())
    write_json(stage.dir / schema.VALIDATION, report)
    problems.raise_if_strict(params.data.strict)
    if not report["ok"]:
        raise RuntimeError(f"etl: validation failed ({report['failed_checks']}); see {stage.dir / schema.VALIDATION}")
    outputs = [schema.MEETINGS, schema.UTTERANCES, schema.QUERIES, schema.SPLITS, schema.CHUNKS, schema.VALIDATION]
    outputs += audio.outputs
    counts = {**report["counts"], **{f"{s}_meetings": len(ids) for s, ids in splits.items()}, **audio.counts}
    return stage.finish(outputs, counts=counts, timings=timings, extra={"asr": audio.summary})


def make_chunks(params: Params, sources: list[SourceMeeting], progress: bool = True) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    from minutes.data.chunking import chunk_meeting, load_tokenizer

    tokenizer = load_tokenizer(params.index.embedding_model)
    chunks: list[dict[str, Any]] = []
    for s in tqdm(sources, desc="chunking", disable=not progress):
        chunks.extend(chunk_meeting(s.utterances, tokenizer, params.data.chunks))
    return chunks


def write_chunks(path: Path, chunks: list[dict[str, Any]]) -> None:
    import pandas as pd

    df = pd.DataFrame(chunks, columns=list(schema.Chunk.__annotations__))
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def load_products(stage_dir: Path) -> dict[str, Any]:
    """The stage's products, for the notebook and for tests (chunks as a DataFrame)."""
    import pandas as pd

    stage_dir = Path(stage_dir)
    return {
        "meetings": read_jsonl(stage_dir / schema.MEETINGS),
        "utterances": read_jsonl(stage_dir / schema.UTTERANCES),
        "queries": read_jsonl(stage_dir / schema.QUERIES),
        "splits": read_json(stage_dir / schema.SPLITS),
        "chunks": pd.read_parquet(stage_dir / schema.CHUNKS),
        "validation": read_json(stage_dir / schema.VALIDATION),
    }
