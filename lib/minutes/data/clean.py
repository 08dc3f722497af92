"""Cleaning rule for transcript text (QMSum, AMI and ICSI conventions).

The rule, applied in this order:
1. drop every annotation tag in curly braces: `{vocalsound}`, `{disfmarker}`, `{gap}`, `{pause}`,
   `{comment}`, `{nonvocalsound}` ... (any `{word}`; the words themselves are kept, so
   repetitions such as "it it" stay: they were spoken);
2. remove the space the corpora put before punctuation ("Okay ." -> "Okay.");
3. collapse runs of the same punctuation left behind by step 1 ("so , , then" -> "so, then");
4. collapse whitespace and strip;
5. a text with no letter or digit left (".", "-") becomes "".

A turn that becomes empty is kept with text "" so turn indices (which QMSum spans refer to)
never shift.
"""
from __future__ import annotations

import re

_TAG = re.compile(r"\{[A-Za-z_ ]+\}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:%])")
_REPEATED_PUNCT = re.compile(r"([.,!?;:])(?:\s*\1)+")
_LEADING_PUNCT = re.compile(r"^[\s.,!?;:]+")
_WS = re.compile(r"\s+")
_WORDLIKE = re.compile(r"[A-Za-z0-9]")


def clean_text(text: str) -> str:
    """Apply the module's cleaning rule to one turn."""
    text = _TAG.sub(" ", text)
    text = _WS.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _LEADING_PUNCT.sub("", text).strip()
    return text if _WORDLIKE.search(text) else ""


def word_count(text: str) -> int:
    return len(text.split())
