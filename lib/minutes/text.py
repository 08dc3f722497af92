"""The text rules every stage shares: markup stripping, cleaning, word tokens, stopwords,
trimming and the speech-time estimate. One definition each, so ETL, ingest, BM25, the extractive
answerer and the minutes cannot drift apart. Standard library only: cheap to import anywhere.

Markup is what a transcript holds besides speech. In QMSum (counted over all of train/val):
`{disfmarker}` 41k, `{vocalsound}` 21k, `{gap}` 3k, `{pause}` 2.7k, `{comment}` 700,
`{nonvocalsound}` 160 (AMI/ICSI annotations); `@ @` 190 (ICSI's unintelligible-speech mark);
`[Laughter.]`, `[Objection.]`, `[Inaudible.]`, `[Interruption.]` about 70 (Welsh committee stage
directions). Uploaded transcripts add `<laugh>`-style tags and WebVTT markup (`<i>`, `<c.x>`,
`<00:01.000>`). A bracket with other content (`[correction: need to be]`) is kept: it is text.
"""
from __future__ import annotations

import re

#: Words per minute of the speech-time estimate: the ETL's rate for QMSum (which has no times),
#: a conversational rate, so ingested transcripts without times are estimated the same way.
WORDS_PER_MINUTE = 150
#: Shortest estimated turn (an empty or one-word turn still takes time), and the pause between
#: estimated turns, in seconds.
MIN_TURN_SECONDS = 0.5
TURN_GAP_SECONDS = 0.3

_MARKUP = re.compile(
    r"\{[^{}\n]*\}"  # {vocalsound} {disfmarker} {gap} {pause} {comment} {nonvocalsound}
    r"|<(?=[^\s<>])[^<>\n]*>"  # <laugh>, WebVTT <i> </c> <v Bob> <00:01.000>
    r"|\[[A-Za-z][A-Za-z_ ]*\.?\]"  # [Laughter.] [Inaudible.] [Interruption.]
    r"|(?<!\S)@+(?!\S)"  # ICSI "@ @" (unintelligible)
)
#: Every markup pattern above starts with one of these: a text without them has no markup.
_MARKUP_STARTS = frozenset("{<[@")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:%])")
_REPEATED_PUNCT = re.compile(r"([.,!?;:])(?:\s*\1)+")
_LEADING_PUNCT = re.compile(r"^[\s.,!?;:]+")
_WS = re.compile(r"\s+")
_WORDLIKE = re.compile(r"[A-Za-z0-9]")
#: A word token: letters and digits, with an apostrophe ending kept ("battery's", "don't").
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

#: Function words, meeting fillers and question framing ("what did the group discuss"): they
#: carry no topic, so BM25, the extractive answerer and the minutes all leave them out. Numbers
#: ("option two") and "meeting"/"talk" stay: in meetings they are often what is talked about
#: (keeping them, BM25 recall@10 and MRR on QMSum are at least those of its former own list).
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing don down during each few for from further
get go going gonna got had has have having he her here hers herself him himself his how i if in
into is it its itself just kind know like me mean mm hmm more most my myself no nor not now of
off oh ok okay on once only or other our ours ourselves out over own right s same she should so
some sort such t than that the their theirs them themselves then there these they thing things
this those through to too um uh under until up us very was we well were what when where which
while who whom why will with would yeah yes you your yours yourself yourselves actually really
think thought discuss discussed discussion say said summarize summary whole group team
""".split())


def strip_markup(text: str) -> str:
    """`text` with every non-speech mark replaced by a space (see the module docstring).
    Most turns hold no markup: a set test skips the regex for them (the service cleans every
    utterance it cites)."""
    return _MARKUP.sub(" ", text) if not _MARKUP_STARTS.isdisjoint(text) else text


def clean_text(text: str) -> str:
    """The cleaning rule of every transcript turn (ETL and ingest alike), in this order:
    1. replace markup by a space (the words are kept, so repetitions such as "it it" stay:
       they were spoken);
    2. collapse whitespace, remove the space the corpora put before punctuation ("Okay ." ->
       "Okay."), and collapse runs of the same punctuation that step 1 left ("so , , then" ->
       "so, then");
    3. a text with no letter or digit left (".", "-") becomes "" (callers keep such turns where
       turn indices matter, e.g. QMSum's spans).
    """
    text = _WS.sub(" ", strip_markup(text))
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _LEADING_PUNCT.sub("", text).strip()
    return text if _WORDLIKE.search(text) else ""


def words(text: str) -> list[str]:
    """Lower-cased word tokens of `text`, markup left out."""
    return WORD.findall(strip_markup(text).lower())


def content_words(text: str) -> list[str]:
    """`words` without stopwords: what a passage or question is about."""
    return [w for w in words(text) if w not in STOPWORDS]


def word_count(text: str) -> int:
    """Whitespace-separated words: the unit of answer budgets and speech-time estimates."""
    return len(text.split())


def trim_words(text: str, max_words: int, marker: str = " …") -> str:
    """`text` cut after `max_words` words (at a word boundary), `marker` showing the cut."""
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    parts = text.split()
    return text if len(parts) <= max_words else " ".join(parts[:max_words]) + marker


def speech_seconds(text: str, words_per_minute: float = WORDS_PER_MINUTE,
                   min_seconds: float = MIN_TURN_SECONDS) -> float:
    """How long saying `text` takes, estimated from its word count."""
    if words_per_minute <= 0:
        raise ValueError(f"words_per_minute must be positive, got {words_per_minute}")
    return max(min_seconds, word_count(text) * 60.0 / words_per_minute)


def estimate_times(texts: list[str], words_per_minute: float = WORDS_PER_MINUTE,
                   min_turn_seconds: float = MIN_TURN_SECONDS,
                   gap_seconds: float = TURN_GAP_SECONDS) -> list[tuple[float, float]]:
    """(start, end) seconds of consecutive turns where the source has no times (QMSum, untimed
    uploads): each lasts `speech_seconds`, turns follow with a fixed gap. Order and rough
    proportions are right, which is what citations need; such records say `timing: "estimated"`."""
    times, t = [], 0.0
    for text in texts:
        duration = speech_seconds(text, words_per_minute, min_turn_seconds)
        times.append((round(t, 3), round(t + duration, 3)))
        t += duration + gap_seconds
    return times
