"""Many recordings: one Ray task per file (local Ray by default, a cluster on Chameleon).

Each task converts and transcribes one file and returns its segments and timing; a file that is
not usable audio comes back as an error naming the file, and the rest of the batch goes on.
Below `asr.ray_min_files` files the work runs in this process (starting Ray costs ~10 s).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from minutes.config import Params


def _one(path: str, asr_json: dict[str, Any], cache_dir: str, cpu_threads: int) -> dict[str, Any]:
    """Transcribe one file; never raises for bad audio (returns {"error": ...})."""
    from minutes.asr.audio import AudioError
    from minutes.asr.transcribe import transcribe_file
    from minutes.config.asr import AsrParams

    stats: dict[str, Any] = {}
    try:
        segments = transcribe_file(path, AsrParams(**asr_json), cache_dir=Path(cache_dir),
                                   cpu_threads=cpu_threads, stats=stats)
    except AudioError as exc:
        return {"path": path, "error": str(exc)}
    return {"path": path, "segments": segments, "stats": stats}


def transcribe_many(paths: Sequence[str | Path], params: Params, progress: bool = True,
                    use_ray: bool | None = None) -> list[dict[str, Any]]:
    """[{path, segments, stats} | {path, error}] in the order of `paths`.

    `use_ray=None` decides by `asr.ray_min_files`; the caller owns Ray's lifetime (a local Ray
    started here stays up for later stages and is stopped by `shutdown_ray`)."""
    from tqdm.auto import tqdm

    paths = [str(p) for p in paths]
    if not paths:
        return []
    asr_json = params.asr.model_dump(mode="json")
    cache_dir = str((params.work_dir / "cache").resolve())
    if use_ray is None:
        use_ray = len(paths) >= params.asr.ray_min_files
    if not use_ray:
        threads = params.asr.cpu_threads
        return [_one(p, asr_json, cache_dir, threads) for p in tqdm(paths, desc="transcribing", disable=not progress)]

    from minutes.platform.ray_runtime import init_ray

    ray = init_ray(params)
    if params.asr.backend == "openai-whisper" and params.asr.model == "packaged":
        # Build the converted checkpoint once, before tasks race to build it.
        from minutes.asr.checkpoint import packaged_openai_checkpoint
        packaged_openai_checkpoint(Path(cache_dir), params.asr.converter)
    threads = params.asr.cpu_threads or max(1, math.floor(params.asr.cpus_per_task))
    gpus = 1 if params.asr.device == "cuda" else 0
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
