"""Word error rate with Whisper's English text normalization (as in the Whisper paper): case,
punctuation, fillers ("um", "mm-hmm"), spelled-out numbers and British spellings are
normalized on both sides before jiwer aligns the words."""
from __future__ import annotations

import functools
from typing import Any, Iterable


@functools.lru_cache(maxsize=1)
def _normalizer() -> Any:
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    return " ".join(_normalizer()(text).split())


def wer_counts(reference: str, hypothesis: str) -> dict[str, Any]:
    """Counts for one pair (normalized); WER is (S + D + I) / reference words."""
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return {"ref_words": 0, "hyp_words": len(hyp.split()), "substitutions": 0, "deletions": 0,
                "insertions": len(hyp.split()), "wer": None}
    o = jiwer.process_words(ref, hyp if hyp else "")
    return {"ref_words": len(ref.split()), "hyp_words": len(hyp.split()), "substitutions": o.substitutions,
            "deletions": o.deletions, "insertions": o.insertions, "wer": round(o.wer, 4)}


def wer_report(pairs: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """Per-item and overall WER from (id, reference, hypothesis) triples. Overall WER is pooled:
    all errors over all reference words (long meetings weigh more, as in the literature)."""
    items = [{"meeting_id": mid, **wer_counts(ref, hyp)} for mid, ref, hyp in pairs]
    ref_words = sum(i["ref_words"] for i in items)
    errors = sum(i["substitutions"] + i["deletions"] + i["insertions"] for i in items)
    overall = {"ref_words": ref_words, **{k: sum(i[k] for i in items) for k in ("substitutions", "deletions", "insertions")},
               "wer": round(errors / ref_words, 4) if ref_words else None}
    return {"normalizer": "whisper.normalizers.EnglishTextNormalizer", "meetings": items, "overall": overall}
