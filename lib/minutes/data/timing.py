"""Turn times where the source has none (QMSum): estimated from word counts.

Each turn lasts max(min_turn_seconds, words / words_per_minute * 60) and turns follow each other
with a fixed gap. The estimate keeps order and rough proportions, which is what citations need;
records made this way carry `timing: "estimated"`.
"""
from __future__ import annotations

from minutes.data.clean import word_count


def estimate_times(texts: list[str], words_per_minute: float, min_turn_seconds: float = 0.5,
                   gap_seconds: float = 0.3) -> list[tuple[float, float]]:
    """(start, end) in seconds for consecutive turns."""
    times, t = [], 0.0
    for text in texts:
        duration = max(min_turn_seconds, word_count(text) * 60.0 / words_per_minute)
        times.append((round(t, 3), round(t + duration, 3)))
        t += duration + gap_seconds
    return times
