"""Reading the service's /metrics (Prometheus text format) with prometheus_client's own parser."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample called `name` whose labels are exactly `labels` (None if absent).

    `name` is the sample's name as exposed: `x_total` for a counter, `x_count` for a histogram."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None
