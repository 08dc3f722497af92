"""Loopback ports for the servers these tests start, from a band no default service uses
(18000-18999), so a test never lands on a port another run's service holds."""
from __future__ import annotations

from minutes.platform import processes

BAND = range(18000, 19000)


def free_port() -> int:
    return processes.free_port(BAND)
