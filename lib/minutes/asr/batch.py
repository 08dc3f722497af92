"""Many recordings: one Ray task per file (local Ray by default, a cluster on Chameleon).

Each task converts and transcribes one file and returns its segments and timing; a file that is
not usable audio comes back as an error naming the file, and the rest of the batch goes on.
Below `asr.ray_min_files` files the work runs in this process (starting Ray costs ~10 s).
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Sequence

# Imported here, not in the Ray task, so the ETL stage's manifest records the code that transcribes.
from minutes.asr.audio import AudioError
from minutes.asr.transcribe import transcribe_file
from minutes.cache import code_version, hash_file, hash_params
from minutes.config import Params
from minutes.config.asr import AsrParams
from minutes.io import read_json, write_json

log = logging.getLogger(__name__)


class RayStartFailed(RuntimeError):
    """The local Ray runtime could not be started."""


def _one(path: str, asr_json: dict[str, Any], cache_dir: str, cpu_threads: int) -> dict[str, Any]:
    """Transcribe one file; never raises for bad audio (returns {"error": ...})."""
    stats: dict[str, Any] = {}
    try:
        segments = transcribe_file(path, AsrParams(**asr_json), cache_dir=Path(cache_dir),
                                   cpu_threads=cpu_threads, stats=stats)
    except AudioError as exc:
        return {"path": path, "error": str(exc), "pid": os.getpid()}
    return {"path": path, "segments": segments, "stats": stats, "pid": os.getpid()}


def transcribe_many(paths: Sequence[str | Path], params: Params, progress: bool = True,
                    use_ray: bool | None = None) -> list[dict[str, Any]]:
    """[{path, segments, stats} | {path, error}] in the order of `paths`.

    Transcripts are cached in `<work_dir>/cache/asr/` by audio content and ASR parameters, so a
    re-run of the ETL stage for another reason (say, new chunk sizes) does not transcribe again;
    those results carry `cached: True` (and the timing of the run that made them).

    `use_ray=None` decides by `asr.ray_min_files`. A Ray that was already up (or a cluster) is
    left as it was; one started here is shut down before returning, so no process outlives us."""
    paths = [str(p) for p in paths]
    cache_dir = str((params.work_dir / "cache").resolve())
    keys = [transcript_key(p, params) for p in paths]
    cached = {i: read_json(_cached(cache_dir, k)) for i, k in enumerate(keys) if k and _cached(cache_dir, k).is_file()}
    todo = [p for i, p in enumerate(paths) if i not in cached]
    fresh = iter(_transcribe(todo, params, cache_dir, progress, use_ray) if todo else [])
    results = []
    for i, p in enumerate(paths):
        if i in cached:
            results.append(dict(cached[i], path=p, cached=True))
            continue
        out = next(fresh)
        if "error" not in out and keys[i]:
            write_json(_cached(cache_dir, keys[i]), out)
        results.append(out)
    return results


def transcript_key(path: str | Path, params: Params) -> str | None:
    """Content hash of a recording + the ASR parameters that shape its transcript (None when
    the file cannot be read: it will be reported by the transcription itself)."""
    try:
        audio = hash_file(Path(path))
    except OSError:
        return None
    asr = params.asr.model_dump(mode="json", exclude={"ray_min_files", "cpus_per_task", "gpus_per_task",
                                                      "cpu_threads"})
    return hash_params({"audio": audio, "asr": asr, "code": code_version(("minutes.asr",))})[:24]


def _cached(cache_dir: str, key: str) -> Path:
    return Path(cache_dir) / "asr" / f"{key}.json"


def _transcribe(paths: list[str], params: Params, cache_dir: str, progress: bool,
                use_ray: bool | None) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    asr_json = params.asr.model_dump(mode="json")
    if use_ray is None:
        use_ray = len(paths) >= params.asr.ray_min_files
    if not use_ray:
        threads = params.asr.cpu_threads
        return [_one(p, asr_json, cache_dir, threads) for p in tqdm(paths, desc="transcribing", disable=not progress)]

    import ray as ray_module

    started_here = not ray_module.is_initialized()
    try:
        return _on_ray(paths, params, asr_json, cache_dir, progress)
    except RayStartFailed as exc:
        # A local Ray that cannot start (an overloaded machine) must not lose the batch.
        log.warning("local Ray did not start (%s); transcribing %d files in this process", exc, len(paths))
        return [_one(p, asr_json, cache_dir, params.asr.cpu_threads)
                for p in tqdm(paths, desc="transcribing", disable=not progress)]
    finally:
        if started_here:
            from minutes.platform.ray_runtime import shutdown_ray
            shutdown_ray()


def _on_ray(paths: list[str], params: Params, asr_json: dict[str, Any], cache_dir: str,
            progress: bool) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    from minutes.platform.ray_runtime import init_ray

    try:
        ray = init_ray(params)
    except Exception as exc:
        if params.ray.address:  # a named cluster that is unreachable is an error, not a fallback
            raise
        raise RayStartFailed(str(exc)) from exc
    if params.asr.backend == "openai-whisper" and params.asr.model == "packaged":
        # Build the converted checkpoint once, before tasks race to build it.
        from minutes.asr.checkpoint import packaged_openai_checkpoint
        packaged_openai_checkpoint(Path(cache_dir), params.asr.converter)
    threads = params.asr.cpu_threads or max(1, math.floor(params.asr.cpus_per_task))
    gpus = params.asr.gpus_per_task if params.asr.device == "cuda" else 0
    task = ray.remote(num_cpus=params.asr.cpus_per_task, num_gpus=gpus)(_one)
    refs = {task.remote(p, asr_json, cache_dir, threads): i for i, p in enumerate(paths)}
    results: list[dict[str, Any] | None] = [None] * len(paths)
    pending = list(refs)
    with tqdm(total=len(paths), desc="transcribing (Ray)", disable=not progress) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = refs[ref]
                try:
                    results[i] = ray.get(ref)
                except Exception as exc:  # a crashed worker: report it against its file
                    results[i] = {"path": paths[i], "error": f"{paths[i]}: transcription failed ({exc})"}
                bar.update(1)
    return [r for r in results if r is not None]
