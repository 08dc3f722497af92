"""The systems compared on the same queries and contexts, and their cached predictions.

  extractive   best retrieved utterances, trimmed to the typical answer length (no model)
  base         the base generator without LoRA (what fine-tuning starts from)
  lora-v<N>    registered versions: the latest, and the one holding the alias when different

Each system's predictions are a small cached stage (<evaluate>/systems/<name>/): unchanged
contexts and the same model version are not generated again, and a killed generation resumes
from the last finished batch (predictions.partial-<key>.jsonl).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from minutes.cache import Stage, hash_params, hash_path
from minutes.config import Params
from minutes.io import read_jsonl, write_jsonl

PREDICTIONS = "predictions.jsonl"


@dataclass(frozen=True)
class System:
    name: str
    kind: Literal["extractive", "base", "lora"]
    label: str
    version: str | None = None
    run_id: str | None = None  # the version's training run: version numbers restart with a new registry

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


EXTRACTIVE = System("extractive", "extractive", "extractive baseline")
BASE = System("base", "base", "base generator (no LoRA)")


def registry_state(params: Params) -> dict[str, Any]:
    """Latest version, the alias holder, and their training runs (None where nothing is registered)."""
    from mlflow.exceptions import MlflowException

    from minutes.evaluate import promotion

    c = promotion.client(params)
    name = params.train.registered_model
    try:
        versions = {str(v.version): v for v in c.search_model_versions(f"name='{name}'")}
    except MlflowException:
        versions = {}
    latest = str(max(map(int, versions))) if versions else None
    promoted = promotion.alias_version(params, params.evaluate.alias, c) if versions else None
    return {"model": name, "latest": latest, "promoted": promoted, "alias": params.evaluate.alias,
            "runs": {v: mv.run_id for v, mv in versions.items()}}


def plan(params: Params, state: dict[str, Any]) -> list[System]:
    """Which systems this evaluation scores, given the registry state."""
    systems = [EXTRACTIVE, BASE]
    latest, promoted, alias = state["latest"], state["promoted"], state["alias"]
    if latest is not None:
        tags = ["latest"] + ([alias] if promoted == latest else [])
        systems.append(System(f"lora-v{latest}", "lora", f"LoRA v{latest} ({', '.join(tags)})",
                              latest, state["runs"].get(latest)))
    if promoted is not None and promoted != latest and params.evaluate.include_promoted:
        systems.append(System(f"lora-v{promoted}", "lora", f"LoRA v{promoted} ({alias})",
                              promoted, state["runs"].get(promoted)))
    return systems


def extractive_predictions(contexts: Sequence[dict[str, Any]], words: dict[str, int]) -> list[dict[str, Any]]:
    from minutes.answer.extractive import extractive_answer

    out = []
    for c in contexts:
        answer, cited = extractive_answer(c["query"], c["hits"], words[c["kind"]])
        out.append({"query_id": c["query_id"], "prediction": answer, "cited": [h["chunk_id"] for h in cited]})
    return out


def load_generator(params: Params, system: System) -> Any:
    """The system's generator on the serving runtime (the gate judges what will be served)."""
    import torch

    from minutes.generate import runtime
    from minutes.generate.generator import Generator
    from minutes.generate.registry import load_registered

    gen = Generator.base(params) if system.kind == "base" else load_registered(params, system.version)
    return runtime.apply(gen, params, threads=torch.get_num_threads())


def token_budgets(params: Params) -> dict[str, int]:
    """New tokens per task: the service's budgets (an `/ask` answer, a `/minutes` summary), so
    the gate scores answers as long as users get; `evaluate.max_new_tokens` overrides both."""
    e, s = params.evaluate, params.serve
    return {"answer": e.max_new_tokens or s.answer_tokens, "minutes": e.max_new_tokens or s.minutes_tokens}


def generator_predictions(generator: Any, contexts: Sequence[dict[str, Any]], batch_size: int,
                          budgets: dict[str, int], done: dict[str, str],
                          on_batch: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Generate for contexts not in `done` (query_id -> text), calling `on_batch` as batches
    finish; a batch holds one task, decoded with that task's budget."""
    from tqdm.auto import tqdm

    from minutes.generate.prompts import build_prompt

    by_task: dict[str, list[dict[str, Any]]] = {}
    for c in contexts:
        if c["query_id"] not in done:
            by_task.setdefault(c["task"], []).append(c)
    step = batch_size * 2
    parts = [group[i:i + step] for group in by_task.values() for i in range(0, len(group), step)]
    todo = [c for part in parts for c in part]
    with tqdm(total=len(contexts), initial=len(contexts) - len(todo), desc="answers") as bar:
        for part in parts:
            prompts = [build_prompt(c["query"], c["hits"], generator.tokenizer, generator.max_source_tokens,
                                    task=c["task"]) for c in part]
            texts = generator.generate(prompts, max_new_tokens=budgets[part[0]["task"]], batch_size=batch_size,
                                       progress=False)
            rows = [{"query_id": c["query_id"], "prediction": t, "cited": [h["chunk_id"] for h in c["hits"]]}
                    for c, t in zip(part, texts)]
            done.update({r["query_id"]: r["prediction"] for r in rows})
            if on_batch:
                on_batch(rows)
            bar.update(len(part))
    by_id = {c["query_id"]: c for c in contexts}
    return [{"query_id": q, "prediction": done[q], "cited": [h["chunk_id"] for h in by_id[q]["hits"]]}
            for q in by_id]


def _read_partial(path: Path) -> dict[str, str]:
    """query_id -> prediction from a partial file; a line torn by a kill is skipped."""
    done: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                done[row["query_id"]] = row["prediction"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return done


def predict(params: Params, system: System, contexts: Sequence[dict[str, Any]], contexts_path: Path,
            stage_dir: Path, words: dict[str, int]) -> tuple[list[dict[str, Any]], bool]:
    """A system's predictions for `contexts` (cached); returns (rows, came_from_cache)."""
    e = params.evaluate
    config = {"system": system.as_dict(), "max_new_tokens": token_budgets(params), "words": words,
              "base_model": params.train.base_model if system.kind == "base" else None,
              "generation": ({"beams": params.train.gen_num_beams, "no_repeat": params.train.gen_no_repeat_ngram}
                             if system.kind == "base" else None)}
    stage = Stage(stage_dir / "systems" / system.name, config, inputs={"contexts": contexts_path},
                  force=params.force)
    out_path = stage.dir / PREDICTIONS
    if stage.is_current():
        return read_jsonl(out_path), True
    stage.begin()
    if system.kind == "extractive":
        rows = extractive_predictions(contexts, words)
    else:
        key = hash_params({"config": config, "contexts": hash_path(contexts_path)})[:12]
        partial = stage.dir / f"predictions.partial-{key}.jsonl"
        for stale in stage.dir.glob("predictions.partial-*.jsonl"):
            if stale != partial:
                stale.unlink()
        done = _read_partial(partial)
        generator = load_generator(params, system) if len(done) < len(contexts) else None

        def append(batch: list[dict[str, Any]]) -> None:
            with partial.open("a", encoding="utf-8") as fh:  # a torn last line is re-generated
                for r in batch:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")

        rows = generator_predictions(generator, contexts, e.batch_size, token_budgets(params), done, append)
    write_jsonl(out_path, rows)
    stage.finish([PREDICTIONS], counts={"predictions": len(rows),
                                        "empty": sum(1 for r in rows if not r["prediction"].strip())})
    for leftover in stage.dir.glob("predictions.partial-*.jsonl"):
        leftover.unlink()
    return rows, False
