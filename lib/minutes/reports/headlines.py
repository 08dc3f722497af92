"""The headline figures: per stage, the figures the stage exists for.

This table is the one place that says which recorded metrics the runs index leads with and plots
across runs. Keys are the names notebooks pass to `ctx.record(...)` (see run.json). A key may
name another recorded value of the same stage in braces: the candidate's ROUGE is recorded under
`lora-v<N>.rougeLsum`, and N (`gate_candidate`) changes from run to run.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping

#: What a table cell shows when a run did not record the figure.
MISSING = "—"
#: The recorded key by which a notebook says its stage was served from the stage cache.
CACHED_KEY = "cached"


@dataclass(frozen=True)
class Headline:
    """One headline figure: where it is recorded, how it reads, and which way is better."""

    key: str
    label: str
    fmt: str = ".3f"
    better: Literal["higher", "lower"] | None = None
    unit: str = ""
    #: How a boolean reads (True, False).
    words: tuple[str, str] = ("yes", "no")
    #: A recorded key whose value explains this one (shown on hover), e.g. the gate's reason.
    detail: str | None = None


HEADLINES: dict[str, tuple[Headline, ...]] = {
    "10_etl": (Headline("asr_wer", "ASR WER", ".1%", "lower"),),
    "20_index": (Headline("dense_within_recall@10", "recall@10 within meeting", ".3f", "higher"),
                 Headline("dense_corpus_recall@10", "recall@10 across corpus", ".3f", "higher")),
    "30_train": (Headline("best_val_rougeL", "best val ROUGE-L", ".2f", "higher"),),
    "40_evaluate": (Headline("gate_passed", "gate", words=("passed", "failed"), detail="gate_reason"),
                    Headline("lora-v{gate_candidate}.rougeLsum", "candidate rougeLsum", ".2f", "higher"),
                    Headline("extractive.rougeLsum", "extractive rougeLsum", ".2f", "higher")),
    "50_deploy": (Headline("ask_extractive_p95_ms", "/ask p95 extractive", ".0f", "lower", " ms"),
                  Headline("ask_generative_p95_ms", "/ask p95 generative", ".0f", "lower", " ms")),
    # canary_decision and retrain_triggered: the decisions 70 is to record (issue 14 items 5, 6)
    "70_online": (Headline("sim_min_achieved_rps", "simulated rate held", ".1f", "higher", " req/s"),
                  Headline("drift_alarm_drifted", "drift alarm on drifted traffic", ".0%", "higher"),
                  Headline("canary_decision", "canary decision", "s"),
                  Headline("retrain_triggered", "retraining triggered")),
}

_FIELD = re.compile(r"\{(\w+)\}")


def resolve_key(headline: Headline, metrics: Mapping[str, Any]) -> str | None:
    """The recorded key of `headline` in these metrics; None when a field it names is missing."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = metrics.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return str(value)

    key = _FIELD.sub(fill, headline.key)
    return None if missing else key


def value_of(headline: Headline, metrics: Mapping[str, Any]) -> Any:
    """The recorded value, or None when absent (a NaN counts as absent)."""
    key = resolve_key(headline, metrics)
    value = metrics.get(key) if key is not None else None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def number(value: Any) -> float | None:
    """The value as a plottable number (booleans and text are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def format_value(headline: Headline, value: Any) -> str:
    """Plain text of a value as the headline reads (the caller escapes it for HTML)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return headline.words[0] if value else headline.words[1]
    if number(value) is not None and headline.fmt != "s":
        return f"{format(value, headline.fmt)}{headline.unit}"
    return str(value)


def format_change(headline: Headline, delta: float) -> str:
    """A signed difference in the headline's own format (e.g. +1.2% or -35 ms)."""
    spec = headline.fmt if headline.fmt != "s" else ".3g"
    return f"{format(delta, '+' + spec)}{headline.unit}"


def judgement(headline: Headline, delta: float) -> str:
    """'better', 'worse' or 'same' for a change, by the headline's direction."""
    if delta == 0 or headline.better is None:
        return "same"
    return "better" if (delta > 0) == (headline.better == "higher") else "worse"


def is_cached(metrics: Mapping[str, Any]) -> bool:
    """True when the notebook recorded that its stage was served from the stage cache."""
    return metrics.get(CACHED_KEY) is True
