"""Which corpus (and so which domain) a QMSum meeting comes from, by its id."""
from __future__ import annotations

import re

DOMAINS = ("Product", "Academic", "Committee")
_PRODUCT = re.compile(r"^(ES|IS|TS)\d{4}[a-z]$")  # AMI scenario meetings
_ACADEMIC = re.compile(r"^B[a-z]{2}\d{3}$")  # ICSI meetings (Bed, Bmr, Bro, Bdb, Buw ...)


def domain_of(meeting_id: str) -> str:
    """Product = AMI (ES*/IS*/TS*), Academic = ICSI (B*), Committee = everything else."""
    if _PRODUCT.match(meeting_id):
        return "Product"
    if _ACADEMIC.match(meeting_id):
        return "Academic"
    return "Committee"
