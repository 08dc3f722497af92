"""`Generator`: a causal LM or a seq2seq model (base, or base + LoRA adapter) that turns prompts into text.

Evaluation loads the registered candidate and the bare base for the baseline; the service loads
the version behind an alias. An adapter is merged into its base on load: inference is then as
fast as the plain model and needs no PEFT wrappers. The family (see minutes.generate.family) is
read from the model's config; callers never branch on it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minutes.generate import family as fam
from minutes.generate.base import MODEL_META, base_cache_dir, read_model_meta, resolve_base
from minutes.io import read_json

ADAPTER_CONFIG = "adapter_config.json"
#: Greedy decoding with a ban on repeated trigrams and a mild repetition penalty (small LMs loop).
DEFAULT_GENERATION = {"num_beams": 1, "no_repeat_ngram_size": 3, "repetition_penalty": 1.1}


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _dtype(bf16: bool, device: str) -> Any:
    import torch

    if bf16 and device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_model(path_or_name: str, device: str = "cpu", bf16: bool = False) -> Any:
    """The model of either family, in the dtype the device supports."""
    return fam.load_model(path_or_name, dtype=_dtype(bf16, device))


@dataclass
class Generator:
    """A ready-to-generate model with its tokenizer and the settings it was trained with."""

    model: Any
    tokenizer: Any
    version: str | None = None
    max_source_tokens: int = 512
    max_new_tokens: int = 128
    generation: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_GENERATION))
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    #: A faster runtime decoding for this model (see minutes.generate.runtime), or None for torch.
    fast: Any = None

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_dir(cls, path: str | Path, device: str = "auto", cache_dir: Path | None = None,
                 version: str | None = None) -> "Generator":
        """Load a saved adapter (with its base) or a full model directory."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no model directory at {path}")
        device = pick_device(device)
        meta = read_model_meta(path)
        bf16 = bool(meta.get("bf16", False))
        if (path / ADAPTER_CONFIG).is_file():
            from peft import PeftModel

            base = _adapter_base(path, meta, cache_dir)
            model = PeftModel.from_pretrained(load_model(base, device, bf16), str(path))
            model = model.merge_and_unload()
        else:
            model = load_model(str(path), device, bf16)
        tok_dir = path if any(path.glob("tokenizer*")) else Path(_adapter_base(path, meta, cache_dir))
        tokenizer = fam.load_tokenizer(str(tok_dir), fam.family_of(model.config))
        model.to(device).eval()
        return cls(model=model, tokenizer=tokenizer, version=version,
                   max_source_tokens=int(meta.get("max_source_tokens", _model_max_len(tokenizer))),
                   max_new_tokens=int(meta.get("max_target_tokens", 128)),
                   generation={**DEFAULT_GENERATION, **meta.get("generation", {})},
                   source=str(path), meta=meta)

    @classmethod
    def base(cls, params: Any, device: str = "auto") -> "Generator":
        """The base model without any adapter: the evaluation's 'no fine-tuning' baseline."""
        device = pick_device(device)
        tp = params.train
        name = resolve_base(tp.base_model, base_cache_dir(params), tp.seed)
        model = load_model(name, device, tp.bf16).to(device).eval()
        tokenizer = fam.load_tokenizer(name, fam.family_of(model.config))
        return cls(model=model, tokenizer=tokenizer, version=None,
                   max_source_tokens=tp.max_source_tokens, max_new_tokens=tp.max_target_tokens,
                   generation=generation_settings(tp), source=name,
                   meta={"base_model": tp.base_model, "base_path": name})

    def accelerate(self, runtime: str, compute_type: str = "int8", threads: int = 1,
                   cache_root: Path | None = None) -> "Generator":
        """Decode with `runtime` ("torch" is a no-op; "ctranslate2" converts once, then caches)."""
        if runtime == "torch":
            self.fast = None
            return self
        if runtime != "ctranslate2":
            raise ValueError(f"unknown generation runtime {runtime!r} (torch or ctranslate2)")
        from minutes.generate import runtime as rt

        rows = self.model.get_input_embeddings().num_embeddings
        if rows < len(self.tokenizer):  # torch raises on such ids; CTranslate2 would read past the table
            raise ValueError(f"the model has {rows} embedding rows for a tokenizer of {len(self.tokenizer)} "
                             "token ids: not converted (a damaged or mismatched checkpoint)")
        dirs = [Path(p) for p in (self.source, self.meta.get("base_path")) if p and Path(p).is_dir()]
        digest = rt.source_digest(dirs) if dirs else hashlib.sha256(self.source.encode()).hexdigest()[:16]
        root = Path(cache_root) if cache_root else (dirs[0].parent / "ct2" if dirs else Path("ct2"))
        path = rt.convert(self.model, self.tokenizer, root, digest, compute_type)
        self.fast = rt.Ct2Backend.load(path, self.tokenizer, self.family, compute_type, threads)
        return self

    @property
    def runtime(self) -> str:
        return f"ctranslate2-{self.fast.compute_type}" if self.fast is not None else "torch"

    # -------------------------------------------------------------- generation
    @property
    def family(self) -> fam.Family:
        return fam.family_of(self.model.config)

    def generate(self, prompts: list[str], max_new_tokens: int | None = None, batch_size: int = 8,
                 progress: bool | None = None, max_time: float | None = None) -> list[str]:
        """Generate one text per prompt (batched by length; order preserved). Never echoes the prompt.

        `max_time` (seconds per batch) stops decoding early; the service uses it as its timeout."""
        from tqdm.auto import tqdm

        if isinstance(prompts, str):
            raise TypeError("generate() takes a list of prompts, not a single string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n_new = int(max_new_tokens or self.max_new_tokens)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[str] = [""] * len(prompts)
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        show = progress if progress is not None else len(batches) > 4
        self.model.eval()
        for idx in tqdm(batches, desc="generate", disable=not show):
            texts = self._generate_batch([prompts[i] for i in idx], n_new, max_time)
            for i, text in zip(idx, texts):
                out[i] = " ".join(text.split())
        return out

    def _generate_batch(self, prompts: list[str], n_new: int, max_time: float | None = None) -> list[str]:
        import torch

        settings = {k: v for k, v in self.generation.items() if v is not None}
        if max_time is not None:
            settings["max_time"] = float(max_time)
        if self.fast is not None:
            return self._generate_fast(prompts, n_new, settings, max_time)
        if self.family == "seq2seq":
            enc = self.tokenizer(prompts, return_tensors="pt", padding=True, truncation=True,
                                 max_length=self.max_source_tokens).to(self.device)
            with torch.inference_mode():
                ids = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                          max_new_tokens=n_new, **settings)
            return self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        rows = [fam.prompt_ids(self.tokenizer, p)[-self.max_source_tokens:] for p in prompts]
        batch = fam.causal_batch(rows, rows, int(self.tokenizer.pad_token_id))
        with torch.inference_mode():
            ids = self.model.generate(input_ids=batch["input_ids"].to(self.device),
                                      attention_mask=batch["attention_mask"].to(self.device),
                                      max_new_tokens=n_new, pad_token_id=int(self.tokenizer.pad_token_id),
                                      use_cache=True, **settings)
        # stop strings are cut afterwards: generate(stop_strings=...) cost 40 % of decode time here
        new = ids[:, batch["input_ids"].shape[1]:]  # only what the model wrote
        return [fam.cut_at_stop(t) for t in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def _generate_fast(self, prompts: list[str], n_new: int, settings: dict[str, Any],
                       max_time: float | None) -> list[str]:
        if self.family == "seq2seq":
            rows = self.tokenizer(prompts, truncation=True, max_length=self.max_source_tokens)["input_ids"]
        else:
            rows = [fam.prompt_ids(self.tokenizer, p)[-self.max_source_tokens:] for p in prompts]
        new = self.fast.generate([list(r) for r in rows], n_new, settings, max_time)
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return texts if self.family == "seq2seq" else [fam.cut_at_stop(t) for t in texts]


def generation_settings(train_params: Any) -> dict[str, Any]:
    return {"num_beams": train_params.gen_num_beams, "no_repeat_ngram_size": train_params.gen_no_repeat_ngram,
            "repetition_penalty": train_params.gen_repetition_penalty}


def _model_max_len(tokenizer: Any) -> int:
    n = getattr(tokenizer, "model_max_length", 512) or 512
    return int(n) if n < 100_000 else 512


def _adapter_base(path: Path, meta: dict[str, Any], cache_dir: Path | None) -> str:
    """The base an adapter needs: its recorded path if present here, else rebuilt / by name."""
    base_path = meta.get("base_path")
    if base_path and Path(base_path).exists():
        return str(base_path)
    if meta.get("base_model"):
        return resolve_base(meta["base_model"], cache_dir, int(meta.get("seed", 13)))
    cfg = path / ADAPTER_CONFIG
    name = read_json(cfg).get("base_model_name_or_path") if cfg.is_file() else None
    if not name:
        raise ValueError(f"{path}: neither {MODEL_META} nor {ADAPTER_CONFIG} names a base model")
    return resolve_base(name, cache_dir)
