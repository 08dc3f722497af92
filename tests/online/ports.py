"""Loopback ports for the servers these tests start, from a band no default service uses
(18000-18999), so a test never lands on a port another run's service holds."""
from __future__ import annotations

import random
import socket

BAND = range(18000, 19000)


def free_port() -> int:
    """A port of the band nothing listens on now (bound and released, like the OS's port 0)."""
    for port in random.sample(BAND, len(BAND)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {BAND.start}-{BAND.stop - 1}")
