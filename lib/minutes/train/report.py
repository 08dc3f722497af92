"""Tables and plots of a study, for notebook 30_train (the notebook only calls these)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from minutes.io import read_json, read_jsonl

TRIAL_COLUMNS = ["trial_id", "status", "lr", "lora_r", "lora_alpha", "batch_size", "epochs", "epochs_done",
                 "stopped_early", "val_loss", "val_rougeL", "step_s"]


def params_table(params: Any) -> Any:
    """The train section as a one-column table (search space flattened)."""
    import pandas as pd

    tp = params.train.model_dump(mode="json")
    search = tp.pop("search")
    rows = {**tp, **{f"search.{k}": v for k, v in search.items()}}
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))


def lora_summary(params: Any) -> Any:
    """Trainable vs total parameters of the base under LoRA, per rank in the search space."""
    import pandas as pd

    from minutes.generate.base import base_cache_dir, resolve_base
    from minutes.generate.family import load_model
    from minutes.train.lora import LoraSettings, lora_config, parameter_counts, wrap

    tp = params.train
    path = resolve_base(tp.base_model, base_cache_dir(params), tp.seed)
    rows = []
    for r, alpha in zip(tp.search.lora_r, tp.search.lora_alpha):
        model = load_model(path)
        settings = LoraSettings(r=r, alpha=alpha, dropout=tp.lora_dropout, target_modules=tp.lora_target_modules)
        cfg = lora_config(model, settings)
        trainable, total = parameter_counts(wrap(model, settings))
        rows.append({"base_model": tp.base_model, "lora_r": r, "lora_alpha": alpha,
                     "target_modules": ",".join(sorted(cfg.target_modules)),
                     "modules_to_save": ",".join(cfg.modules_to_save or []),
                     "trainable": trainable, "total": total, "trainable_pct": round(100 * trainable / total, 2)})
    return pd.DataFrame(rows)


def pairs_table(train_dir: Path, split: str = "train", n: int = 5, width: int = 160) -> Any:
    """A few training pairs, with the source and target cut to `width` characters."""
    import pandas as pd

    path = Path(train_dir) / f"pairs_{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no pairs yet (run the study cell first)")
    rows = read_jsonl(path)
    pick = [r for r in rows if r["task"] == "minutes"][:1] + [r for r in rows if r["task"] == "answer"][:max(0, n - 1)]
    return pd.DataFrame([{"task": r["task"], "meeting": r["meeting_id"], "gold_in_source": r["gold_in_source"],
                          "n_chunks": len(r["chunk_ids"]),
                          "source": _cut(r["source"].split("\ntranscript:")[0], width),
                          "target": _cut(r["target"], width)} for r in pick])


def pairs_counts(train_dir: Path) -> Any:
    """Pairs per split and task, and how many answer pairs kept their gold evidence."""
    import pandas as pd

    rows = []
    for split in ("train", "val"):
        path = Path(train_dir) / f"pairs_{split}.jsonl"
        data = read_jsonl(path) if path.is_file() else []
        answers = [r for r in data if r["task"] == "answer"]
        rows.append({"split": split, "pairs": len(data), "minutes": len(data) - len(answers),
                     "answers": len(answers), "gold_in_source": sum(bool(r["gold_in_source"]) for r in answers)})
    return pd.DataFrame(rows).set_index("split")


def trials_table(result: Any) -> Any:
    """One row per trial, best first by the study's metric."""
    df = result.trials
    cols = [c for c in TRIAL_COLUMNS if c in df.columns]
    ascending = result.metric.endswith("loss")
    key = f"best_{result.metric}" if f"best_{result.metric}" in df.columns else result.metric
    out = df.sort_values(key, ascending=ascending, na_position="last")[cols + ([key] if key not in cols else [])]
    return out.reset_index(drop=True)


def plot_curves(result: Any) -> Any:
    """Train/val loss and val ROUGE-L per epoch, one line per trial (the best one bold)."""
    import matplotlib.pyplot as plt

    hist = result.history
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), sharex=True)
    panels = [("train_loss", "train loss"), ("val_loss", "val loss"), ("val_rougeL", "val ROUGE-L (quick slice)")]
    for ax, (col, title) in zip(axes, panels):
        for trial_id, g in hist.groupby("trial_id"):
            g = g.sort_values("epoch").dropna(subset=[col])
            best = trial_id == result.best_trial_id
            ax.plot(g["epoch"], g[col], marker="o", lw=2.5 if best else 1,
                    label=f"{trial_id}{' (best)' if best else ''}")
        ax.set_title(title)
        ax.set_xlabel("epoch (0 = before training)" if col == "val_loss" else "epoch")
        ax.set_xticks(sorted({int(e) for e in hist["epoch"].dropna()}))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def version_table(params: Any, version: str) -> Any:
    """The registered version: source run, status and its tags (params tag shortened)."""
    import pandas as pd

    from minutes.generate.registry import _client

    client = _client(params)
    mv = client.get_model_version(params.train.registered_model, str(version))
    rows = {"name": mv.name, "version": mv.version, "run_id": mv.run_id, "status": mv.status,
            "source": mv.source, "aliases": ",".join(getattr(mv, "aliases", []) or []) or "(none)",
            **{f"tag.{k}": _cut(v, 120) for k, v in sorted((mv.tags or {}).items())}}
    return pd.DataFrame({"value": list(rows.values())}, index=list(rows))


def sample_answers(generator: Any, train_dir: Path, n: int = 3) -> Any:
    """Generate for a few val pairs with a loaded generator: question, reference, prediction."""
    import pandas as pd

    rows = read_jsonl(Path(train_dir) / "pairs_val.jsonl")[:n]
    preds = generator.generate([r["source"] for r in rows], progress=False)
    return pd.DataFrame([{"task": r["task"], "question": _cut(_question(r["source"]), 100),
                          "reference": _cut(r["target"], 160), "generated": _cut(p, 160)}
                         for r, p in zip(rows, preds)])


def _question(source: str) -> str:
    head = source.split("\ntranscript:")[0]
    return head.split("question:", 1)[-1].strip()


def _cut(text: Any, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def base_model_comparison() -> Any:
    """The packaged LMs side by side, from the last `make bench BENCH=generator` (outputs/bench)."""
    import pandas as pd

    from minutes import REPO_ROOT

    path = REPO_ROOT / "outputs" / "bench" / "generator.json"
    if not path.is_file():
        return pd.DataFrame({"note": ["no comparison yet: run `make bench BENCH=generator` after 40_evaluate"]})
    bench = read_json(path)
    rows = [{"model": r["model"], "setting": "zero-shot", **{k: r.get(k) for k in (
        "rouge1", "rouge2", "rougeLsum", "gen_tokens_per_s", "lora_step_s", "peak_rss_mb", "queries")}}
        for r in bench.get("zero_shot", []) if "error" not in r]
    lora = bench.get("lora") or {}
    for name, m in (lora.get("systems") or {}).items():
        rows.append({"model": name, "setting": lora.get("model", ""), **{k: m.get(k) for k in (
            "rouge1", "rouge2", "rougeLsum")}})
    return pd.DataFrame(rows)
