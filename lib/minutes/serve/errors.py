"""The one exception the service's code raises for bad input: it carries its HTTP status."""
from __future__ import annotations


class ApiError(Exception):
    """Bad input or an unavailable resource; answered as {"detail": message} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
