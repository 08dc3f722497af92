"""ROUGE as an `evaluate` metric that works offline: `evaluate.load("<this folder>")`.

The hub's "rouge" metric cannot be fetched here, so the project ships this one. It wraps
Google's `rouge_score` (the reference re-implementation of ROUGE-1.5.5's F-measure) with two
choices that make numbers comparable with QMSum papers: Porter stemming on by default, and
ROUGE-Lsum computed on one sentence per line (both sides are split with the project's regex
splitter, minutes.evaluate.sentences, because nltk's punkt cannot be downloaded offline).
Aggregation is the plain mean of per-example F-measures (deterministic; no bootstrap).
"""
from __future__ import annotations

import datasets
import evaluate
from rouge_score import rouge_scorer

from minutes.evaluate.sentences import one_sentence_per_line

_CITATION = """\
@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    publisher = "Association for Computational Linguistics",
    pages = "74--81",
}
"""

_DESCRIPTION = """\
ROUGE-1/2/L/Lsum F-measures from rouge_score, with stemming, and ROUGE-Lsum on one sentence
per line (regex sentence splitter). Scores are in [0, 1].
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of generated texts.
    references: list of reference texts (one per prediction).
    rouge_types: subset of ["rouge1", "rouge2", "rougeL", "rougeLsum"] (default: all four).
    use_stemmer: Porter stemming of tokens (default True).
    use_aggregator: True gives the mean F-measure per type; False gives a list per type.
    split_sentences: put one sentence per line before ROUGE-Lsum (default True).
Returns:
    {rouge_type: float} or {rouge_type: [float, ...]}.
Examples:
    >>> rouge = evaluate.load("/abs/path/to/lib/minutes/evaluate/metrics/rouge")
    >>> rouge.compute(predictions=["the cat sat"], references=["the cat sat down"])["rouge1"]
    0.8571428571428571
"""

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Rouge(evaluate.Metric):
    """ROUGE F-measures (stemmed; Lsum on one sentence per line)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({
                "predictions": datasets.Value("string", id="sequence"),
                "references": datasets.Value("string", id="sequence"),
            }),
            codebase_urls=["https://github.com/google-research/google-research/tree/master/rouge"],
            reference_urls=["https://aclanthology.org/W04-1013/"],
        )

    def _compute(self, predictions, references, rouge_types=None, use_stemmer=True,
                 use_aggregator=True, split_sentences=True):
        rouge_types = list(rouge_types or ROUGE_TYPES)
        unknown = sorted(set(rouge_types) - set(ROUGE_TYPES))
        if unknown:
            raise ValueError(f"unknown rouge_types {unknown}; expected some of {list(ROUGE_TYPES)}")
        scorer = rouge_scorer.RougeScorer(rouge_types=rouge_types, use_stemmer=use_stemmer)
        per_type: dict[str, list[float]] = {t: [] for t in rouge_types}
        for pred, ref in zip(predictions, references):
            if split_sentences and "rougeLsum" in rouge_types:
                pred, ref = one_sentence_per_line(pred), one_sentence_per_line(ref)
            scores = scorer.score(ref, pred)  # rouge_score takes (target, prediction)
            for t in rouge_types:
                per_type[t].append(scores[t].fmeasure)
        if not use_aggregator:
            return per_type
        return {t: (sum(v) / len(v) if v else 0.0) for t, v in per_type.items()}
